import Foundation
import Testing
@testable import Lessons
import SeededRandom

/// One student's upload on Gradescope and PrairieLearn: which file is
/// graded, and the results files each platform reads.
@Suite struct CourseResultsTests {
    @Test func theNamedFileIsGradedAndEveryOtherChoiceIsExplained() {
        let plain = SubmissionPick.choose(among: ["answers.lua"], wanted: "answers.lua")
        #expect(plain == SubmissionPick(file: "answers.lua", notes: []))
        let helper = SubmissionPick.choose(among: ["answers.lua", "helper.lua", "notes.txt"], wanted: "answers.lua")
        #expect(helper.file == "answers.lua")
        #expect(helper.notes == ["Not graded (only answers.lua is): helper.lua."])
        let nested = SubmissionPick.choose(among: ["hw/deep/answers.lua", "hw/answers.lua"], wanted: "answers.lua")
        #expect(nested.file == "hw/answers.lua")
        #expect(nested.notes.contains { $0.contains("2 files named answers.lua") })
        let renamed = SubmissionPick.choose(among: ["answer.lua"], wanted: "answers.lua")
        #expect(renamed.file == "answer.lua")
        #expect(renamed.notes.first?.contains("your only Lua file") == true)
        let two = SubmissionPick.choose(among: ["a.lua", "b.lua"], wanted: "answers.lua")
        #expect(two.file == nil)
        #expect(two.notes.first?.contains("2 Lua files (a.lua, b.lua) and none is named answers.lua") == true)
        let none = SubmissionPick.choose(among: ["README.md"], wanted: "answers.lua")
        #expect(none.file == nil && none.notes.first?.contains("no .lua file") == true)
        #expect(SubmissionPick.choose(among: [], wanted: "answers.lua").notes.first?.contains("empty") == true)
    }

    @Test func thePickDoesNotDependOnListingOrder() {
        // Property: any order of the same upload picks the same file, with the same notes.
        var rng = SplitMix64(state: 7)
        let files = ["x/answers.lua", "answers.lua", "y/answers.lua", "helper.lua", "z.txt", "q/r/s.lua"]
        let expected = SubmissionPick.choose(among: files, wanted: "answers.lua")
        for _ in 0..<50 {
            var shuffled = files
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            #expect(SubmissionPick.choose(among: shuffled, wanted: "answers.lua") == expected)
        }
    }

    func lesson() throws -> Lesson { try LessonFixtures.catalog().lesson(id: "1") }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func gradescopeResultsCarryTheFullKernelReportAsCode() throws {
        let lesson = try lesson()
        let report = "BUG: KASAN: double-free in kfree\n```\nCall Trace:\n kfree"
        var result = SubmissionResult(id: "answers.lua", status: .graded, exercises: lesson.exercises.map {
            ExerciseResult(id: $0.id, status: .pass, score: $0.points, maxScore: $0.points, feedback: "")
        })
        result.exercises[0] = ExerciseResult(id: lesson.exercises[0].id, status: .bug, score: 0, maxScore: lesson.exercises[0].points,
                                             feedback: "your code triggered a kernel report: BUG: KASAN", report: report)
        result = SubmissionResult(id: "answers.lua", status: .graded, exercises: result.exercises)
        let text = GradescopeResults(lesson: lesson, toolVersion: "9.9", result: result, notes: ["Not graded: x.lua."],
                                     executionSeconds: 2, visibility: "after_due_date").render()
        let d = try json(text)
        #expect(d["score"] as? Int == result.score)
        #expect(d["execution_time"] as? Int == 2)
        #expect(d["visibility"] as? String == "after_due_date")
        #expect(d["stdout_visibility"] as? String == "hidden")
        #expect(d["output_format"] as? String == "md")
        #expect((d["output"] as? String)?.contains("Not graded: x.lua.") == true)
        let tests = try #require(d["tests"] as? [[String: Any]])
        #expect(tests.count == lesson.exercises.count)
        #expect(tests.map { $0["number"] as? String } == (1...lesson.exercises.count).map { "\($0)" })
        let first = tests[0]
        #expect(first["status"] as? String == "failed")
        #expect(first["output_format"] as? String == "md")
        let output = try #require(first["output"] as? String)
        // The report is inside a fence longer than the backticks it contains.
        #expect(output.contains("````text\n" + report + "\n````"), "\(output)")
        #expect(tests.allSatisfy { ($0["tags"] as? [String])?.count == 1 })
    }

    @Test func gradescopeResultsWithNothingGradedScoreZeroAndSayWhy() throws {
        let lesson = try lesson()
        let d = try json(GradescopeResults(lesson: lesson, toolVersion: "1", result: nil, notes: ["Your upload is empty: nothing was graded."],
                                           executionSeconds: 0).render())
        #expect(d["score"] as? Int == 0)
        #expect((d["output"] as? String)?.contains("Your upload is empty") == true)
        #expect((d["tests"] as? [[String: Any]])?.allSatisfy { $0["score"] as? Int == 0 } == true)
    }

    @Test func prairieLearnResultsScoreFromZeroToOne() throws {
        let lesson = try lesson()
        let graded = Grader(lesson: lesson).grade(source: Array(try Data(contentsOf: LessonFixtures.lessonsDirectory
            .appendingPathComponent("solutions/\(lesson.id).lua"))), submissionID: "answers.lua")
        let d = try json(PrairieLearnResults.render(lesson: lesson, toolVersion: "1", results: [graded]))
        #expect(d["gradable"] as? Bool == true)
        #expect(d["score"] as? Double == 1)
        let tests = try #require(d["tests"] as? [[String: Any]])
        #expect(tests.map { $0["points"] as? Int } == graded.exercises.map(\.score))
        #expect(tests.map { $0["max_points"] as? Int } == lesson.exercises.map(\.points))

        let half = Grader(lesson: lesson).grade(source: Array("answers = {}".utf8), submissionID: "answers.lua")
        let h = try json(PrairieLearnResults.render(lesson: lesson, toolVersion: "1", results: [half]))
        #expect(h["gradable"] as? Bool == true)
        #expect((h["score"] as? Double ?? -1) >= 0 && (h["score"] as? Double ?? 2) < 1)

        let broken = Grader(lesson: lesson).grade(source: Array("answers = {".utf8), submissionID: "answers.lua")
        let b = try json(PrairieLearnResults.render(lesson: lesson, toolVersion: "1", results: [broken]))
        #expect(b["gradable"] as? Bool == false)
        let firstError = (b["format_errors"] as? [String])?.first ?? ""
        #expect(firstError.contains("syntax error"))

        let nothing = try json(PrairieLearnResults.render(lesson: lesson, toolVersion: "1", results: [], notes: ["no answers.lua"]))
        #expect(nothing["gradable"] as? Bool == false)
        #expect(nothing["format_errors"] as? [String] == ["no answers.lua"])
    }

    @Test func scoresAreWrittenTheSameWayEveryTime() {
        #expect(PrairieLearnResults.number(1) == "1")
        #expect(PrairieLearnResults.number(0) == "0")
        #expect(PrairieLearnResults.number(5.0 / 11.0) == "0.454545")
        #expect(PrairieLearnResults.number(0.5) == "0.5")
    }
}
