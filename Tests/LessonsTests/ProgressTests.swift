import Foundation
import Testing
@testable import Lessons

@Suite struct ProgressTests {
    @Test func recordsKeepTheBestScoreAndEveryPass() {
        var p = ProgressRecord()
        let a = SubmissionResult(id: "a", status: .graded, exercises: [
            ExerciseResult(id: "x", status: .pass, score: 2, maxScore: 2, feedback: ""),
            ExerciseResult(id: "y", status: .fail, score: 0, maxScore: 3, feedback: "no")])
        let b = SubmissionResult(id: "b", status: .graded, exercises: [
            ExerciseResult(id: "x", status: .fail, score: 0, maxScore: 2, feedback: "no"),
            ExerciseResult(id: "y", status: .pass, score: 3, maxScore: 3, feedback: "")])
        p.record(a, lesson: "L")
        p.record(b, lesson: "L")
        #expect(p.lessons["L"]?.bestScore == 3)
        #expect(p.lessons["L"]?.passed == ["x", "y"])
        #expect(p.takeHint(lesson: "L", exercise: "y", available: 2) == 1)
        #expect(p.takeHint(lesson: "L", exercise: "y", available: 2) == 2)
        #expect(p.takeHint(lesson: "L", exercise: "y", available: 2) == 2)
        #expect(p.takeHint(lesson: "L", exercise: "z", available: 0) == nil)
    }

    @Test func roundTripsAndSurvivesDamage() throws {
        var p = ProgressRecord()
        p.lessons["01"] = .init(bestScore: 4, maxScore: 12, passed: ["q1"], hintsShown: ["q2": 1])
        let (back, damaged) = ProgressRecord.decode(p.encoded())
        #expect(back == p)
        #expect(!damaged)
        #expect(ProgressRecord.decode(Data("garbage".utf8)).damaged)
        let partial = ProgressRecord.decode(Data(#"{"lessons":{"01":{"best_score":1,"max_score":2,"passed":[],"hints_shown":{}},"02":[1,2]}}"#.utf8))
        #expect(partial.damaged)
        #expect(partial.record.lessons.keys.sorted() == ["01"])
    }

    @Test func storeWritesAtomicallyUnderXdgStateHome() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-progress-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = ProgressStore.standard(environment: ["XDG_STATE_HOME": dir.path, "HOME": "/nonexistent"])
        #expect(store.url.path == dir.path + "/kmlab/progress.json")
        #expect(ProgressStore.standard(environment: ["HOME": "/home/x"]).url.path == "/home/x/.local/state/kmlab/progress.json")
        #expect(store.load() == ProgressRecord())
        store.update { $0.lessons["01"] = .init(bestScore: 1, maxScore: 2) }
        #expect(store.load().lessons["01"]?.bestScore == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("kmlab").path)
        #expect(leftovers == ["progress.json"])
    }
}

@Suite struct LearnerCheckTests {
    @Test func checkRecordsProgressAndShowsHintsInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = ProgressStore(url: dir.appendingPathComponent("progress.json"))
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let source = Array("answers.q1 = 47".utf8)
        let first = LearnerCheck.run(lesson: lesson, source: source, submissionID: "a.lua", hint: true, store: store)
        #expect(first.result.score == 2)
        #expect(first.text.contains("hint 1/2: C has no exceptions"))
        #expect(first.text.hasSuffix("score: 2/12\n"))
        let second = LearnerCheck.run(lesson: lesson, source: source, submissionID: "a.lua", hint: true, store: store)
        #expect(second.text.contains("hint 2/2: Try kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL)"))
        #expect(store.load().lessons["01-first-allocations"]?.passed == ["q1"])
        let noStore = LearnerCheck.run(lesson: lesson, source: source, submissionID: "a.lua", hint: true, store: nil)
        #expect(noStore.text.contains("hint 1/2:"))
    }
}
