import Foundation
import SafeOutput

/// A learner's progress through the lessons: best score per lesson, which
/// exercises passed, how many hints were shown, and the learner's seed
/// (which variant of every lesson they see; see `LearnerSeed`). Kept in
/// `$XDG_STATE_HOME/kmlab/progress.json` (else `~/.local/state/kmlab/progress.json`).
///
/// Robust by design: a missing file is an empty record; a file that is not
/// JSON is kept aside as `progress.json.corrupt` and replaced; a lesson
/// entry that cannot be read is dropped while every other entry is kept.
/// Writes go to a temporary file renamed over the old one, so a crash never
/// leaves half a file.
public struct ProgressRecord: Equatable, Sendable {
    public struct LessonProgress: Codable, Equatable, Sendable {
        public var bestScore: Int
        public var maxScore: Int
        /// Exercises that passed at least once, sorted.
        public var passed: [String]
        /// Hints shown so far, by exercise id.
        public var hintsShown: [String: Int]

        public init(bestScore: Int = 0, maxScore: Int = 0, passed: [String] = [], hintsShown: [String: Int] = [:]) {
            self.bestScore = bestScore
            self.maxScore = maxScore
            self.passed = passed
            self.hintsShown = hintsShown
        }

        enum CodingKeys: String, CodingKey {
            case bestScore = "best_score", maxScore = "max_score", passed, hintsShown = "hints_shown"
        }

        public var completed: Bool { maxScore > 0 && bestScore >= maxScore }
    }

    public var lessons: [String: LessonProgress] = [:]
    /// The learner's variant seed, drawn once when first needed and kept
    /// (as hex text: JSON numbers lose 64-bit precision). Nil until then.
    public var learnerSeed: UInt64?

    public init(lessons: [String: LessonProgress] = [:], learnerSeed: UInt64? = nil) {
        self.lessons = lessons
        self.learnerSeed = learnerSeed
    }

    /// Records a graded check: the best score and every passed exercise are kept.
    public mutating func record(_ result: SubmissionResult, lesson: String) {
        var p = lessons[lesson] ?? LessonProgress()
        p.bestScore = max(p.bestScore, result.score)
        p.maxScore = result.maxScore
        p.passed = Array(Set(p.passed).union(result.exercises.filter { $0.status == .pass }.map(\.id))).sorted()
        lessons[lesson] = p
    }

    /// The next hint number (1-based) for an exercise, counting it as shown.
    public mutating func takeHint(lesson: String, exercise: String, available: Int) -> Int? {
        var p = lessons[lesson] ?? LessonProgress()
        let shown = p.hintsShown[exercise] ?? 0
        guard available > 0 else { return nil }
        let next = min(shown + 1, available)
        p.hintsShown[exercise] = next
        lessons[lesson] = p
        return next
    }

    // MARK: JSON

    /// Reads a record, keeping every entry that can be read.
    public static func decode(_ data: Data) -> (record: ProgressRecord, damaged: Bool) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return (ProgressRecord(), true)
        }
        var record = ProgressRecord()
        var damaged = false
        if let seed = object["learner_seed"] {
            // A seed that cannot be read is dropped (a new one is drawn):
            // the other entries stay.
            if let text = seed as? String, let value = UInt64(text, radix: 16) { record.learnerSeed = value } else { damaged = true }
        }
        let entries = object["lessons"] as? [String: Any] ?? [:]
        if object["lessons"] != nil && object["lessons"] as? [String: Any] == nil { damaged = true }
        for (id, value) in entries {
            guard JSONSerialization.isValidJSONObject(value as? [String: Any] ?? [:]),
                  let d = try? JSONSerialization.data(withJSONObject: value),
                  let p = try? JSONDecoder().decode(LessonProgress.self, from: d) else {
                damaged = true
                continue
            }
            record.lessons[id] = p
        }
        return (record, damaged)
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct File: Encodable {
            var version = 1
            var lessons: [String: LessonProgress]
            var learnerSeed: String?
            enum CodingKeys: String, CodingKey { case version, lessons, learnerSeed = "learner_seed" }
        }
        let seed = learnerSeed.map { String($0, radix: 16) }
        return (try? encoder.encode(File(lessons: lessons, learnerSeed: seed))) ?? Data("{\"version\":1,\"lessons\":{}}".utf8)
    }
}

/// Where progress lives on disk, and reading and writing it.
public struct ProgressStore: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// `$XDG_STATE_HOME/kmlab/progress.json`, else `~/.local/state/kmlab/progress.json`.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgressStore {
        let base: URL
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg)
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            base = URL(fileURLWithPath: home).appendingPathComponent(".local/state")
        }
        return ProgressStore(url: base.appendingPathComponent("kmlab/progress.json"))
    }

    /// The record on disk (empty when missing). A file that is not JSON at
    /// all is kept aside as `progress.json.corrupt` so nothing is lost.
    public func load() -> ProgressRecord {
        guard let data = FileManager.default.contents(atPath: url.path) else { return ProgressRecord() }
        let (record, damaged) = ProgressRecord.decode(data)
        if damaged {
            let aside = url.appendingPathExtension("corrupt")
            try? FileManager.default.removeItem(at: aside)
            try? FileManager.default.copyItem(at: url, to: aside)
        }
        return record
    }

    /// Writes atomically (a temporary file renamed over the old one; see
    /// `OutputFile` for links and special files).
    public func save(_ record: ProgressRecord) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try OutputFile.write(Array(record.encoded()), to: url.path)
    }

    /// Loads, changes and saves the record.
    @discardableResult
    public func update<T>(_ change: (inout ProgressRecord) -> T) -> T {
        var record = load()
        let value = change(&record)
        try? save(record)
        return value
    }
}
