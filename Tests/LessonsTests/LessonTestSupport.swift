import Foundation
@testable import Lessons

/// The repository's lessons/ directory and helpers shared by the lesson tests.
enum LessonFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let lessonsDirectory = root.appendingPathComponent("lessons")

    nonisolated(unsafe) private static var cached: LessonCatalog?
    private static let lock = NSLock()

    /// The catalog of the repository's lessons (loaded once).
    static func catalog() throws -> LessonCatalog {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached { return c }
        let c = try LessonCatalog(directory: lessonsDirectory)
        cached = c
        return c
    }

    static func files(in sub: String) -> [URL] {
        let dir = lessonsDirectory.appendingPathComponent(sub)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".lua") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// The lesson an answers file belongs to: `03-contiguity-foo.lua` → lesson 3.
    static func lesson(for file: URL) throws -> Lesson {
        let number = String(file.lastPathComponent.prefix { $0.isNumber })
        return try catalog().lesson(id: number)
    }

    static func grade(_ file: URL, limits: GradingLimits = .default) throws -> SubmissionResult {
        let lesson = try lesson(for: file)
        let source = [UInt8](try Data(contentsOf: file))
        return Grader(lesson: lesson, limits: limits).grade(source: source, submissionID: file.lastPathComponent)
    }

    /// Grades `source` (a snippet) against lesson `id`.
    static func grade(_ source: String, lesson id: String, limits: GradingLimits = .default) throws -> SubmissionResult {
        Grader(lesson: try catalog().lesson(id: id), limits: limits).grade(source: Array(source.utf8), submissionID: "answers.lua")
    }
}
