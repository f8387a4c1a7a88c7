import Foundation
import Testing
@testable import Lessons

/// `kmlab verify` (LessonVerifier) over the shipped lessons: every reference
/// solution in lessons/solutions scores full marks, every wrong answers file
/// in lessons/wrong scores what its header says with the feedback it names,
/// templates score 0, shortcut files do not pass, and every name a lesson
/// shows exists.
@Suite struct ReferenceSolutionTests {
    static func describe(_ check: LessonVerifier.Check) -> String {
        ([check.name] + check.lines).joined(separator: "\n")
    }

    static func verifier(for file: URL) throws -> LessonVerifier {
        LessonVerifier(lesson: try LessonFixtures.lesson(for: file), directory: LessonFixtures.lessonsDirectory)
    }

    @Test(arguments: LessonFixtures.files(in: "solutions"))
    func referenceSolutionScoresFullMarks(_ file: URL) throws {
        let check = try Self.verifier(for: file).solutionCheck()
        #expect(check.passed, "\(Self.describe(check))")
        let result = try #require(check.result)
        #expect(result.status == .graded)
        #expect(result.score == result.maxScore)
        #expect(result.maxScore > 0)
    }

    @Test(arguments: LessonFixtures.files(in: "wrong"))
    func wrongAnswersScoreWhatTheyDeclare(_ file: URL) throws {
        let expectation = ExpectHeader(try String(contentsOf: file, encoding: .utf8))
        let check = try Self.verifier(for: file).wrongFileCheck(file.lastPathComponent)
        #expect(check.passed, "\(Self.describe(check))")
        let result = try #require(check.result)
        #expect(expectation.score != nil, "\(file.lastPathComponent) needs an `-- expect score: N` line")
        #expect(result.score == expectation.score)
        #expect(result.score < result.maxScore)
        #expect(!expectation.exercises.isEmpty, "\(file.lastPathComponent) needs `-- expect <exercise>: <status> <feedback>` lines")
    }

    @Test(arguments: try LessonFixtures.catalog().lessons.map(\.id))
    func templatesShortcutsAndNamesPassVerify(_ id: String) throws {
        let verifier = LessonVerifier(lesson: try LessonFixtures.catalog().lesson(id: id), directory: LessonFixtures.lessonsDirectory)
        for check in [verifier.templateCheck(), verifier.shortcutCheck(), verifier.namesCheck()] {
            #expect(check.passed, "\(id): \(Self.describe(check))")
        }
    }

    /// Every place a lesson shows text to a learner is checked for names:
    /// tagged hints (what `--hint` and `.hint` show for a failure),
    /// explanations, per-answer feedback and choice options, not only the
    /// text, prompts and ordered hints.
    @Test func namesAreCheckedInEveryTextALearnerSees() throws {
        let source = """
        return lesson{ id = "01-n", title = "t", text = "kmalloc(n, GFP_KERNEL)", exercises = {
          question{ id = "q1", points = 1, prompt = "p", answer = choice{ "use alpha_fn(p)", "y", correct = 2 },
                    feedback = { a = "beta_fn(p) instead" }, hints = { "h" }, explain = "gamma_fn(x) does it" },
          question{ id = "q2", points = 1, prompt = "p", answer = 2, hints = { "h" } },
          task{ id = "t", points = 2, expects = "f", prompt = "p", check = function(r) return pass() end,
                hints = { "kfree(p)", leak = { "first", "call delta_fn(p)" } } },
        } }
        """
        let lesson = try LessonCatalog(files: [("01-n.lua", Array(source.utf8))], origin: "test").lesson(id: "01")
        let found = LessonNames.unknownCalls(in: lesson).map { "\($0.name) \($0.place)" }
        #expect(Set(found) == ["alpha_fn q1 option a", "beta_fn q1 feedback 1", "gamma_fn q1 explain", "delta_fn t hint leak 2"], "\(found)")
    }

    @Test func verifyFindsEveryKindOfMismatch() throws {
        // A lesson whose files are wrong in every way verify looks for.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["solutions", "wrong"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        let lesson = """
        return lesson{ id = "01-v", title = "t", text = "Call `frobnicate(p)` first, then kmalloc(n, GFP_KERNEL).",
          exercises = {
            question{ id = "q1", points = 1, prompt = "p", answer = choice{ "x", "y", correct = 1 }, hints = { "h" } },
            question{ id = "q2", points = 1, prompt = "p", answer = 2, hints = { "h" } },
            task{ id = "t", points = 2, expects = "f", prompt = "p", hints = { "h" }, check = function(r) return pass() end },
          } }
        """
        try Data(lesson.utf8).write(to: dir.appendingPathComponent("01-v.lua"))
        try Data("answers.q1 = 'a'\nanswers.q2 = 3\nfunction f() end\n".utf8).write(to: dir.appendingPathComponent("solutions/01-v.lua"))
        try Data("-- expect score: 1\n-- expect q2: fail nope\nanswers.q2 = 2\n".utf8).write(to: dir.appendingPathComponent("wrong/01-v-liar.lua"))
        let catalog = try LessonCatalog(directory: dir)
        let checks = LessonVerifier(lesson: try catalog.lesson(id: "1"), directory: dir).run()
        let failed = checks.filter { !$0.passed }.map(Self.describe).joined(separator: "\n")
        #expect(failed.contains("- expected q2: pass"), "\(failed)")
        #expect(failed.contains("- expect score: 1\n+ got    score: 1") == false)
        #expect(failed.contains("- expect q2: fail nope\n+ got    q2: pass"), "\(failed)")
        #expect(failed.contains("- expected task t to fail for a function that does nothing and returns nil"), "\(failed)")
        #expect(failed.contains("+ frobnicate( in text"), "\(failed)")
        #expect(!failed.contains("kmalloc("))
        // The template's empty f passes a check that checks nothing.
        #expect(failed.contains("- expected t: 0 points from the template\n+ got      t: 2/2"), "\(failed)")
        #expect(checks.filter { !$0.passed }.count == 5, "\(failed)")
    }

    @Test func gradingIsDeterministic() throws {
        for file in LessonFixtures.files(in: "solutions") + LessonFixtures.files(in: "wrong") {
            let a = try LessonFixtures.grade(file), b = try LessonFixtures.grade(file)
            #expect(a.json == b.json, "\(file.lastPathComponent)")
        }
    }
}
