import Foundation
import LuaBridge

/// The lessons kmlab knows, read from lesson files.
///
/// Where they come from, first found wins:
/// 1. `$KMLAB_LESSONS`, a directory of `NN-slug.lua` files (authors, instructors);
/// 2. a `lessons/` directory beside the executable or in one of its parent
///    directories (a clone: `.build/debug/kmlab`, `.build/release/kmlab`,
///    `swift run`), recognised by its `README.md` and `NN-*.lua` files;
/// 3. the copy compiled into the binary (`EmbeddedLessons`, generated at
///    build time by the EmbedLuaFiles plugin from `lessons/`), so an
///    installed binary copied anywhere still has its lessons.
public struct LessonCatalog: Sendable {
    /// The lessons that loaded, ordered by id.
    public let lessons: [Lesson]
    /// Where they were read from (a directory, or "built-in").
    public let origin: String
    /// Lesson files that could not be used, each with its error: one broken
    /// lesson is listed (`kmlab lessons`, `kmlab verify`) and every other
    /// lesson still works.
    public let problems: [LessonProblem]

    /// Loads every `NN-slug.lua` file of `directory`; any other `*.lua` file
    /// there is reported as misnamed.
    public init(directory: URL) throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else {
            throw LessonError.noLessonsDirectory("cannot read the lessons directory \(directory.path)")
        }
        var files: [(String, [UInt8])] = []
        var problems: [LessonProblem] = []
        for name in names.sorted() where name.hasSuffix(".lua") {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard LessonCatalog.isLessonFileName(name) else {
                problems.append(LessonProblem(file: name, message: "not a lesson file name: lessons are named NN-slug.lua (e.g. 12-page-cache.lua), so this file is ignored"))
                continue
            }
            guard let data = fm.contents(atPath: url.path) else {
                problems.append(LessonProblem(file: name, message: "cannot read \(url.path)"))
                continue
            }
            files.append((name, [UInt8](data)))
        }
        self.init(files: files, origin: directory.path, problems: problems)
    }

    /// Loads lessons from (file name, source) pairs; a file that does not
    /// load becomes a problem, not an error.
    /// (`exerciseCount` is for tests of the grader that need other shapes.)
    public init(files: [(name: String, source: [UInt8])], origin: String, problems earlier: [LessonProblem] = [],
                exerciseCount: ClosedRange<Int> = LessonSchema.exerciseCount) {
        var lessons: [Lesson] = []
        var problems = earlier
        for (name, source) in files {
            do {
                let lesson = try LessonCatalog.load(source: source, chunkName: "@" + name, exerciseCount: exerciseCount)
                let stem = String(name.dropLast(4))
                guard lesson.id == stem else {
                    problems.append(LessonProblem(file: name, message: "the lesson id '\(lesson.id)' must match the file name ('\(stem)')"))
                    continue
                }
                lessons.append(lesson)
            } catch {
                problems.append(LessonProblem(file: name, message: LessonProblem.message(of: error, file: name)))
            }
        }
        // Two lessons with one number: `kmlab lesson N` cannot choose, so say so.
        let byNumber = Dictionary(grouping: lessons.filter { $0.number != nil }, by: { $0.number ?? 0 })
        for (number, same) in byNumber.sorted(by: { $0.key < $1.key }) where same.count > 1 {
            let ids = same.map(\.id).sorted()
            for id in ids {
                problems.append(LessonProblem(file: id + ".lua", message: "lesson number \(number) is used by \(ids.map { $0 + ".lua" }.joined(separator: " and ")); renumber one (lesson \(number) is ambiguous)"))
            }
        }
        self.lessons = lessons.sorted { $0.id < $1.id }
        self.origin = origin
        self.problems = problems.sorted { $0.file < $1.file }
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
        return LessonCatalog(files: EmbeddedLessons.files.map { ($0.name, Array($0.source.utf8)) }, origin: "built-in")
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

    /// `NN-slug.lua`: digits, a dash, a slug.
    static func isLessonFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".lua"), let dash = name.firstIndex(of: "-") else { return false }
        let number = name[..<dash]
        let slug = name[name.index(after: dash)...].dropLast(4)
        return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber } && !slug.isEmpty
    }

    /// Reads one lesson file (in a sandboxed state with the kernel API).
    /// `variantSeed`: the learner's variant (0: the lesson as written).
    public static func load(source: [UInt8], chunkName: String, variantSeed: UInt64 = 0,
                            exerciseCount: ClosedRange<Int> = LessonSchema.exerciseCount) throws -> Lesson {
        let state = try LessonState(limits: .runDefault)
        defer { state.lua.close() }
        try state.loadLesson(source: source, chunkName: chunkName, variantSeed: variantSeed)
        var lesson = try LessonParser.parse(state.lessonSnapshot(), source: source, chunkName: chunkName, exerciseCount: exerciseCount)
        lesson.variantSeed = variantSeed
        return lesson
    }

    // MARK: Finding a lesson

    /// The lesson named by `id`: its full id (`03-contiguity`), its number
    /// (`3`, `03`) or its slug (`contiguity`).
    public func lesson(id: String) throws -> Lesson {
        let key = id.lowercased()
        if let l = lessons.first(where: { $0.id == key }) { return l }
        if let n = Int(key) {
            let numbered = lessons.filter { $0.number == n }
            if numbered.count > 1 {
                throw LessonError.badLesson("lesson number \(n) is used by \(numbered.map(\.id).joined(separator: " and ")): name one by its id")
            }
            if let l = numbered.first { return l }
        }
        if let l = lessons.first(where: { $0.id.split(separator: "-", maxSplits: 1).last.map(String.init) == key }) { return l }
        // A lesson file that did not load: its error, not "no such lesson".
        if let p = problems.first(where: { $0.names(key) }) {
            throw LessonError.badLesson("\(p.file): \(p.message)")
        }
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

/// A lesson file that could not be used, and why.
public struct LessonProblem: Sendable, Equatable {
    /// The file name within the lessons directory.
    public var file: String
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    /// Whether `key` (lowercased) names this file as `lesson(id:)` would:
    /// its stem, its number or its slug.
    func names(_ key: String) -> Bool {
        let stem = file.hasSuffix(".lua") ? String(file.dropLast(4)) : file
        if stem.lowercased() == key { return true }
        let number = stem.prefix { $0.isNumber }
        if let n = Int(key), let m = Int(number), n == m { return true }
        if let dash = stem.firstIndex(of: "-"), stem[stem.index(after: dash)...].lowercased() == key { return true }
        return false
    }

    /// The error's text without the `bad lesson: FILE:` prefix the problem already carries.
    static func message(of error: Error, file: String) -> String {
        var text: String
        if case LessonError.badLesson(let m) = error { text = m } else { text = "\(error)" }
        for prefix in [file + ": "] where text.hasPrefix(prefix) {
            text = String(text.dropFirst(prefix.count))
            break
        }
        return text
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
