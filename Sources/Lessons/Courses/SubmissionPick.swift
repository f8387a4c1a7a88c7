import Foundation

/// Which file of one student's upload to grade, for a platform that grades
/// one student at a time (Gradescope, PrairieLearn): the file the
/// instructor names (`answers.lua` by default), so a helper file or a
/// second copy never adds or subtracts points. Every choice that was not
/// obvious is explained in `notes`, which the student sees.
public struct SubmissionPick: Equatable, Sendable {
    /// The chosen file's path relative to the upload directory, or nil when
    /// nothing is gradable.
    public var file: String?
    /// Sentences for the student: what was graded and why, what was not.
    public var notes: [String]

    /// `relativeFiles`: every regular file of the upload, relative to its
    /// directory (`sub/answers.lua`). `wanted`: the file name to grade.
    public static func choose(among relativeFiles: [String], wanted: String) -> SubmissionPick {
        let lua = relativeFiles.filter { $0.hasSuffix(".lua") }.sorted(by: SubmissionFinder.byteOrder)
        func others(than chosen: String) -> [String] {
            let rest = lua.filter { $0 != chosen }
            guard !rest.isEmpty else { return [] }
            return ["Not graded (only \(wanted) is): \(list(rest))."]
        }
        if lua.contains(wanted) {
            return SubmissionPick(file: wanted, notes: others(than: wanted))
        }
        // The name in a folder (an upload of a whole directory): the
        // shallowest one, then the first in byte order.
        let named = lua.filter { ($0 as NSString).lastPathComponent == wanted }
            .sorted { depth($0) != depth($1) ? depth($0) < depth($1) : SubmissionFinder.byteOrder($0, $1) }
        if let first = named.first {
            var notes = ["Graded \(first): no \(wanted) at the top of your upload."]
            if named.count > 1 { notes.append("Your upload has \(named.count) files named \(wanted) (\(list(named))); the least deeply nested one was graded. Upload only one.") }
            return SubmissionPick(file: first, notes: notes + others(than: first))
        }
        if lua.count == 1, let only = lua.first {
            return SubmissionPick(file: only, notes: ["Graded \(only), your only Lua file: the assignment asks for \(wanted), so please name it that way next time."])
        }
        if lua.isEmpty {
            let what = relativeFiles.isEmpty ? "Your upload is empty" : "Your upload has no .lua file (it has \(list(relativeFiles.sorted(by: SubmissionFinder.byteOrder))))"
            return SubmissionPick(file: nil, notes: ["\(what): nothing was graded. Upload your answers as \(wanted)."])
        }
        return SubmissionPick(file: nil, notes: ["Your upload has \(lua.count) Lua files (\(list(lua))) and none is named \(wanted): nothing was graded, because kmlab cannot tell which one holds your answers. Upload your answers as \(wanted)."])
    }

    /// Every regular file under `directory`, relative to it (symbolic links
    /// to directories are not followed), at most `limit` of them.
    public static func files(in directory: String, limit: Int = 10_000) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var out: [String] = []
        while let relative = walker.nextObject() as? String, out.count < limit {
            if walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular || relative.hasSuffix(".lua") {
                out.append(relative)
            }
        }
        return out
    }

    private static func depth(_ path: String) -> Int { path.split(separator: "/").count }

    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(8).joined(separator: ", ")
        return names.count > 8 ? shown + " and \(names.count - 8) more" : shown
    }
}
