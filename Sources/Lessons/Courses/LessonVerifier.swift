import Foundation

/// What `kmlab verify` checks for a lesson author, as a library (the test
/// suite runs it over the shipped lessons):
///
/// - the reference solution `solutions/ID.lua` scores full marks;
/// - every `wrong/ID-*.lua` scores what its `-- expect` header says, below
///   full marks, each named exercise with its verdict and feedback;
/// - the starting template (`kmlab lesson ID --template`) scores 0;
/// - shortcut files do not pass: an empty file scores 0, answering every
///   question with one letter (a to d) is not full marks, and no task passes
///   with a function that does nothing and returns nil, 0 or true;
/// - every `name(` the lesson's text, prompts and hints show in code is a
///   kmlab API name, a Lua name or a function the lesson asks for
///   (`LessonNames`).
public struct LessonVerifier {
    public let lesson: Lesson
    /// The lessons directory (with `solutions/` and `wrong/`).
    public let directory: URL
    public let limits: GradingLimits

    public init(lesson: Lesson, directory: URL, limits: GradingLimits = .default) {
        self.lesson = lesson
        self.directory = directory
        self.limits = limits
    }

    /// One check and what it found: `lines` are shown under it, diff-like
    /// (`- expected`, `+ got`) where something did not match.
    public struct Check: Sendable, Equatable {
        public var name: String
        public var passed: Bool
        public var lines: [String]
        /// The graded file's result, for checks of one file.
        public var result: SubmissionResult? = nil
    }

    public func run() -> [Check] {
        [solutionCheck()] + wrongFileChecks() + [templateCheck(), shortcutCheck(), namesCheck()]
    }

    // MARK: Files

    func grade(_ source: [UInt8], id: String) -> SubmissionResult {
        Grader(lesson: lesson, limits: limits).grade(source: source, submissionID: id)
    }

    public func solutionCheck() -> Check {
        let name = "solutions/\(lesson.id).lua"
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            return Check(name: name, passed: false, lines: ["- expected a reference solution at \(directory.path)/\(name)", "+ got no such file"])
        }
        let r = grade([UInt8](data), id: name)
        var lines: [String] = []
        for e in r.exercises where e.status != .pass {
            lines.append("- expected \(e.id): pass")
            lines.append("+ got      \(e.id): \(e.status.rawValue) (\(e.score)/\(e.maxScore)) \(Self.oneLine(e.feedback))")
        }
        let passed = r.status == .graded && r.score == r.maxScore && r.maxScore > 0
        return Check(name: "\(name): \(r.score)/\(r.maxScore)", passed: passed, lines: lines, result: r)
    }

    /// The wrong answer files of this lesson: `wrong/ID-*.lua`, sorted.
    public func wrongFiles() -> [String] {
        let dir = directory.appendingPathComponent("wrong")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix(lesson.id + "-") && $0.hasSuffix(".lua") }.sorted(by: SubmissionFinder.byteOrder)
    }

    public func wrongFileChecks() -> [Check] {
        let files = wrongFiles()
        guard !files.isEmpty else {
            return [Check(name: "wrong/\(lesson.id)-*.lua", passed: false,
                          lines: ["- expected at least one wrong answers file with `-- expect` headers", "+ got none"])]
        }
        return files.map(wrongFileCheck)
    }

    public func wrongFileCheck(_ file: String) -> Check {
        let name = "wrong/" + file
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            return Check(name: name, passed: false, lines: ["+ cannot read it"])
        }
        let expectation = ExpectHeader(String(decoding: data, as: UTF8.self))
        let r = grade([UInt8](data), id: name)
        var lines: [String] = []
        if let score = expectation.score {
            if score != r.score {
                lines += ["- expect score: \(score)", "+ got    score: \(r.score)"]
            }
        } else {
            lines.append("- expected an `-- expect score: N` line (it scored \(r.score))")
        }
        if r.score >= r.maxScore { lines += ["- expected below full marks", "+ got    \(r.score)/\(r.maxScore)"] }
        if expectation.exercises.isEmpty { lines.append("- expected `-- expect <exercise>: <status> <feedback>` lines") }
        for want in expectation.exercises {
            guard let got = r.exercises.first(where: { $0.id == want.id }) else {
                lines += ["- expect \(want.id): \(want.status) \(want.feedback)", "+ no exercise '\(want.id)' in lesson \(lesson.id)"]
                continue
            }
            if got.status.rawValue != want.status || !(want.feedback.isEmpty || got.feedback.contains(want.feedback)) {
                lines += ["- expect \(want.id): \(want.status) \(want.feedback)",
                          "+ got    \(want.id): \(got.status.rawValue) \(Self.oneLine(got.feedback))"]
            }
        }
        return Check(name: "\(name): \(r.score)/\(r.maxScore)", passed: lines.isEmpty, lines: lines, result: r)
    }

    public func templateCheck() -> Check {
        let r = grade(Array(AnswerTemplate.text(for: lesson).utf8), id: "template.lua")
        var lines: [String] = []
        if r.status != .graded { lines.append("+ the template did not run: \(Self.oneLine(r.exercises.first?.feedback ?? ""))") }
        for e in r.exercises where e.score > 0 {
            lines += ["- expected \(e.id): 0 points from the template", "+ got      \(e.id): \(e.score)/\(e.maxScore)"]
        }
        return Check(name: "template (kmlab lesson \(lesson.id) --template): \(r.score)/\(r.maxScore)", passed: lines.isEmpty, lines: lines, result: r)
    }

    // MARK: Shortcuts

    /// Answers files that ignore the questions: they must not pass.
    public func shortcutCheck() -> Check {
        var lines: [String] = []
        var notes: [String] = []
        let empty = grade([], id: "empty.lua")
        if empty.score != 0 { lines += ["- expected an empty file to score 0", "+ got    \(empty.score)/\(empty.maxScore)"] }
        // Each file answers every question with one letter and defines every
        // task's function as doing nothing but returning one constant: the
        // verdicts of questions and tasks are independent, so four files
        // cover the four letters and the three constants.
        let questions = lesson.exercises.filter { !$0.isTask }
        let tasks = Set(lesson.exercises.compactMap(\.expectedName)).sorted()
        for (letter, constant) in [("a", "nil"), ("b", "0"), ("c", "true"), ("d", "nil")] {
            var source = "answers = {}\n" + questions.map { "answers[\(JSONText.string($0.id))] = \"\(letter)\"\n" }.joined()
            source += tasks.map { "function \($0)(...) return \(constant) end\n" }.joined()
            let r = grade(Array(source.utf8), id: "shortcut-\(letter).lua")
            let questionScore = r.exercises.filter { e in questions.contains { $0.id == e.id } }.reduce(0) { $0 + $1.score }
            if !questions.isEmpty { notes.append("\"\(letter)\" \(questionScore)") }
            if r.score >= r.maxScore {
                lines += ["- expected a file answering \"\(letter)\" everywhere, with functions returning \(constant), to be below full marks",
                          "+ got    \(r.score)/\(r.maxScore)"]
            }
            for e in r.exercises where e.status == .pass && lesson.exercises.first(where: { $0.id == e.id })?.isTask == true {
                lines += ["- expected task \(e.id) to fail for a function that does nothing and returns \(constant)", "+ got    pass (\(e.score)/\(e.maxScore))"]
            }
        }
        let summary = "shortcuts: empty \(empty.score)" + (notes.isEmpty ? "" : "; every answer " + notes.joined(separator: ", "))
            + (tasks.isEmpty ? "" : "; do-nothing functions returning nil, 0, true")
        return Check(name: summary, passed: lines.isEmpty, lines: lines)
    }

    // MARK: Names

    public func namesCheck() -> Check {
        let unknown = LessonNames.unknownCalls(in: lesson)
        let lines = unknown.map { "+ \($0.name)( in \($0.place) is not a kmlab API name, a Lua name or a function the lesson asks for" }
        return Check(name: "names: every name( the lesson shows is in kmlab", passed: unknown.isEmpty, lines: lines)
    }

    static func oneLine(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count > 160 ? String(flat.prefix(160)) + "..." : flat
    }
}

/// What a wrong answers file says it should score, from its header:
/// `-- expect score: 9` and `-- expect <exercise>: <status> <feedback substring>`.
public struct ExpectHeader: Sendable {
    public var score: Int?
    public var exercises: [(id: String, status: String, feedback: String)] = []

    public init(_ text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix("-- expect ") {
            let body = line.dropFirst("-- expect ".count)
            guard let colon = body.firstIndex(of: ":") else { continue }
            let key = body[..<colon].trimmingCharacters(in: .whitespaces)
            let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "score" {
                score = Int(value)
            } else {
                let parts = value.split(separator: " ", maxSplits: 1).map(String.init)
                exercises.append((key, parts.first ?? "", parts.count > 1 ? parts[1] : ""))
            }
        }
    }
}
