import Foundation
import LuaBridge

/// The lessons kmlab knows, read from lesson files.
///
/// Where they come from, first found wins:
/// 1. `$KMLAB_LESSONS`, a directory of `NN-slug.lua` files (authors, instructors);
/// 2. a `lessons/` directory beside the executable or in one of its parent
///    directories (a clone: `.build/debug/kmlab`, `.build/release/kmlab`,
///    `swift run`), recognised by its `README.md` and `NN-*.lua` files;
/// 3. the copy compiled into the binary (`EmbeddedLessons.swift`, generated
///    by `lessons/embed.sh`; a test keeps it in sync), so an installed
///    binary copied anywhere still has its lessons.
public struct LessonCatalog: Sendable {
    /// The lessons, ordered by id.
    public let lessons: [Lesson]
    /// Where they were read from (a directory, or "built-in").
    public let origin: String

    /// Loads every `NN-*.lua` file of `directory`.
    public init(directory: URL) throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else {
            throw LessonError.noLessonsDirectory("cannot read the lessons directory \(directory.path)")
        }
        var files: [(String, [UInt8])] = []
        for name in names.sorted() where LessonCatalog.isLessonFileName(name) {
            let url = directory.appendingPathComponent(name)
            guard let data = fm.contents(atPath: url.path) else {
                throw LessonError.badLesson("cannot read \(url.path)")
            }
            files.append((name, [UInt8](data)))
        }
        try self.init(files: files, origin: directory.path)
    }

    /// Loads lessons from (file name, source) pairs.
    public init(files: [(name: String, source: [UInt8])], origin: String) throws {
        var lessons: [Lesson] = []
        for (name, source) in files {
            let lesson = try LessonCatalog.load(source: source, chunkName: "@" + name)
            let stem = String(name.dropLast(4))
            guard lesson.id == stem else {
                throw LessonError.badLesson("\(name): the lesson id '\(lesson.id)' must match the file name ('\(stem)')")
            }
            lessons.append(lesson)
        }
        self.lessons = lessons.sorted { $0.id < $1.id }
        self.origin = origin
    }

    /// The catalog a command should use (see the type's documentation).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executable: URL? = Bundle.main.executableURL) throws -> LessonCatalog {
        if let dir = environment["KMLAB_LESSONS"], !dir.isEmpty {
            return try LessonCatalog(directory: URL(fileURLWithPath: dir))
        }
        if let dir = findLessonsDirectory(from: executable) {
            return try LessonCatalog(directory: dir)
        }
        return try LessonCatalog(files: EmbeddedLessons.files.map { ($0.name, Array($0.source.utf8)) }, origin: "built-in")
    }

    /// A `lessons/` directory beside `executable` or in a parent directory.
    static func findLessonsDirectory(from executable: URL?) -> URL? {
        guard var dir = executable?.resolvingSymlinksInPath().deletingLastPathComponent() else { return nil }
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("lessons")
            if isLessonsDirectory(candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }

    /// A directory with a README.md and at least one lesson file.
    static func isLessonsDirectory(_ dir: URL) -> Bool {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir.appendingPathComponent("README.md").path),
              let names = try? fm.contentsOfDirectory(atPath: dir.path) else { return false }
        return names.contains(where: isLessonFileName)
    }

    static func isLessonFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".lua"), let dash = name.firstIndex(of: "-") else { return false }
        let number = name[..<dash]
        return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Reads one lesson file (in a sandboxed state with the kernel API).
    public static func load(source: [UInt8], chunkName: String) throws -> Lesson {
        let state = try LessonState(limits: .runDefault)
        try state.loadLesson(source: source, chunkName: chunkName)
        return try LessonParser.parse(state.lessonSnapshot(), source: source, chunkName: chunkName)
    }

    // MARK: Finding a lesson

    /// The lesson named by `id`: its full id (`03-contiguity`), its number
    /// (`3`, `03`) or its slug (`contiguity`).
    public func lesson(id: String) throws -> Lesson {
        let key = id.lowercased()
        if let l = lessons.first(where: { $0.id == key }) { return l }
        if let n = Int(key), let l = lessons.first(where: { $0.number == n }) { return l }
        if let l = lessons.first(where: { $0.id.split(separator: "-", maxSplits: 1).last.map(String.init) == key }) { return l }
        throw LessonError.unknownLesson(id: id, known: lessons.map(\.id), suggestion: suggestion(for: key))
    }

    /// The closest lesson id, for "did you mean".
    func suggestion(for key: String) -> String? {
        if key.count >= 3, let l = lessons.first(where: { $0.id.contains(key) || $0.id.replacingOccurrences(of: "-", with: "").contains(key) }) {
            return l.id
        }
        let scored = lessons.map { ($0.id, min(editDistance(key, $0.id), editDistance(key, String($0.id.drop { $0 != "-" }.dropFirst())))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(3, key.count / 2) else { return nil }
        return best.0
    }
}

/// Levenshtein distance, for suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    for i in 1...x.count {
        var cur = [i] + Array(repeating: 0, count: y.count)
        for j in 1...y.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[y.count]
}
