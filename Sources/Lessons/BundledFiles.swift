import Foundation

/// The files that go with the lessons: reference solutions
/// (`lessons/solutions/ID.lua`, for `kmlab solution`) and the examples a
/// lesson points to (`examples/NAME.lua`, for `kmlab example`). Read from
/// beside the lessons the catalog came from when they are there (an author
/// editing them sees the edit), else from the copies built into the binary
/// (the EmbedLuaFiles build plugin), so a kmlab copied anywhere still has them.
public enum BundledFiles {
    /// The reference solution of `lesson`, if there is one.
    public static func solution(for lesson: Lesson, catalog: LessonCatalog) -> String? {
        let name = lesson.id + ".lua"
        if let dir = directory(catalog, "solutions"), let text = read(dir, name) { return text }
        return EmbeddedSolutions.files.first { $0.name == name }?.source
    }

    /// The example `name` (`nic` or `nic.lua`), if there is one.
    public static func example(_ name: String, catalog: LessonCatalog) -> (name: String, source: String)? {
        let file = name.hasSuffix(".lua") ? name : name + ".lua"
        // A bare file name only: `../x` names nothing here.
        guard !file.contains("/"), file != ".lua" else { return nil }
        if let dir = directory(catalog, "../examples"), let text = read(dir, file) { return (file, text) }
        return EmbeddedExamples.files.first { $0.name == file }.map { ($0.name, $0.source) }
    }

    /// Every example's file name, sorted.
    public static func exampleNames(catalog: LessonCatalog) -> [String] {
        var names = Set(EmbeddedExamples.files.map(\.name))
        if let dir = directory(catalog, "../examples"),
           let listed = try? FileManager.default.contentsOfDirectory(atPath: dir.path) {
            names.formUnion(listed.filter { $0.hasSuffix(".lua") })
        }
        return names.sorted()
    }

    /// `relative` to the catalog's directory, when the catalog was read from one that has it.
    private static func directory(_ catalog: LessonCatalog, _ relative: String) -> URL? {
        guard catalog.origin.hasPrefix("/") else { return nil }
        let dir = URL(fileURLWithPath: catalog.origin).appendingPathComponent(relative).standardizedFileURL
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue ? dir : nil
    }

    private static func read(_ dir: URL, _ name: String) -> String? {
        FileManager.default.contents(atPath: dir.appendingPathComponent(name).path).map { String(decoding: $0, as: UTF8.self) }
    }
}
