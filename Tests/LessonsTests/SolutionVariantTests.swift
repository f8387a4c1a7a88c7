import Foundation
import Testing
@testable import Lessons

/// `kmlab solution` shows the reference solution with the question answers
/// of the learner's own variant: rewritten for any seed, it still scores
/// full marks on that learner's lesson.
@Suite struct SolutionVariantTests {
    @Test(arguments: LessonFixtures.files(in: "solutions"))
    func theRewrittenSolutionScoresFullMarksOnTheLearnersVariant(_ file: URL) throws {
        let written = try LessonFixtures.lesson(for: file)
        let text = try String(contentsOf: file, encoding: .utf8)
        for seed: UInt64 in [0x5eed_a11ce, 0xb0b_0000_0042] {
            let mine = try written.variant(seed: seed)
            let shown = SolutionVariant.rewrite(text, for: mine, writtenAs: try written.variant(seed: 0))
            let r = Grader(lesson: mine).grade(source: Array(shown.utf8), submissionID: file.lastPathComponent)
            #expect(r.score == r.maxScore, "\(file.lastPathComponent) seed \(seed): \(r.exercises.filter { $0.score < $0.maxScore }.map { "\($0.id): \($0.feedback)" })")
        }
    }

    @Test func onlyQuestionAnswerLinesChange() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "01")
        let written = try lesson.variant(seed: 0)
        func q1(_ l: Lesson) -> String? {
            l.exercises.first { $0.id == "q1" }.flatMap { if case .question(let s) = $0.kind { SolutionVariant.literal(for: s) } else { nil } }
        }
        // A learner whose q1 differs from the lesson as written.
        let mine = try #require(try (1...64).lazy.map { try lesson.variant(seed: 0x5eed_0000 + $0) }.first { q1($0) != q1(written) })
        let text = "-- a comment\nanswers.q1 = 192 -- old\n  answers.q1 = 1\nanswers.q1x = 3\nfunction f() return 1 end\n"
        let shown = SolutionVariant.rewrite(text, for: mine, writtenAs: try lesson.variant(seed: 0))
        let lines = shown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "-- a comment")
        #expect(lines[1].hasPrefix("answers.q1 = ") && !lines[1].contains("old"))
        #expect(lines[2] == "  answers.q1 = 1")    // not a top-level answer line
        #expect(lines[3] == "answers.q1x = 3")     // another id
        #expect(lines[4] == "function f() return 1 end")
    }

    /// Seed 0 is the lesson as written: the solution is shown unchanged.
    @Test(arguments: LessonFixtures.files(in: "solutions"))
    func theLessonAsWrittenShowsTheSolutionUnchanged(_ file: URL) throws {
        let written = try LessonFixtures.lesson(for: file).variant(seed: 0)
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(SolutionVariant.rewrite(text, for: written, writtenAs: written) == text)
    }

    @Test func literalsReadBackAsTheSameValue() {
        #expect(SolutionVariant.luaLiteral(.string(Array("a\"b\\c\n1".utf8))) == "\"a\\\"b\\\\c\\0101\"")
        #expect(SolutionVariant.literal(for: .numeric(4096, tolerance: 0, units: true)) == "4096")
        #expect(SolutionVariant.literal(for: .choice(options: ["x", "y", "z"], correct: [2, 0])) == "\"ac\"")
    }
}
