import Foundation
import KernelLua
import LuaBridge
import Testing
@testable import Lessons

/// What a grading state builds once and reuses must not change a verdict:
/// the answers file's bytecode (parsed once per submission), the pristine
/// globals built in C, the exercise lines the pool decodes only when a
/// worker dies.
@Suite struct GradingStateReuseTests {
    /// Every task after the first runs in a fresh state loaded from the
    /// bytecode the first state kept: errors still name the file and line.
    @Test func laterTasksReportTheLearnersOwnFileAndLine() throws {
        let source = """
            answers = answers or {}
            function size_class(n) error("boom in size_class") end
            function kstrdup(s) error("boom in kstrdup") end
            function alloc_array(n, size)
              local t = nil
              return t.field
            end
            function make_reply() return kzalloc(64, GFP_KERNEL) end
            """
        let result = try LessonFixtures.grade(source, lesson: "1")
        let byID = Dictionary(uniqueKeysWithValues: result.exercises.map { ($0.id, $0) })
        let first = try #require(byID["size_class"])
        let second = try #require(byID["kstrdup"])
        let third = try #require(byID["null_check"])
        #expect(first.status == .error && first.feedback.contains("answers.lua:2: boom in size_class"), "\(first.feedback)")
        #expect(second.status == .error && second.feedback.contains("answers.lua:3: boom in kstrdup"), "\(second.feedback)")
        #expect(third.status == .error && third.feedback.contains("answers.lua:6:"), "\(third.feedback)")
    }

    /// A learner who edits a library table in one task finds it restored
    /// before the lesson's check runs, in every task's fresh state.
    @Test func libraryEditsAreUndoneInEveryState() throws {
        let reference = try String(contentsOf: LessonFixtures.lessonsDirectory.appendingPathComponent("solutions/01-first-allocations.lua"), encoding: .utf8)
        let hostile = reference + """

            string.rep = function() return "" end
            table.concat = nil
            string.extra_field = "added by the learner"
            """
        let result = try LessonFixtures.grade(hostile, lesson: "1")
        #expect(result.score == result.maxScore, "\(result.exercises.map { "\($0.id): \($0.feedback)" })")
    }

    @Test func exerciseLinesAreRecognisedWithoutDecoding() {
        func seq(_ s: String) -> Int? { WorkerProtocol.exerciseLineSeq(Data(s.utf8)) }
        #expect(seq(#"{"seq":12,"exercise":{"id":"a"}}"#) == 12)
        #expect(seq(#"{"seq":0,"exercise":{}}"#) == 0)
        #expect(seq(#"{"seq":12,"result":{"id":"a"}}"#) == nil)
        #expect(seq(#"{"ready":true}"#) == nil)
        #expect(seq(#"{"seq":,"exercise":{}}"#) == nil)
        #expect(seq(#"{"seq":12"#) == nil)
        #expect(seq("") == nil)
    }

    /// An exercise line kept undecoded decodes to what the worker sent.
    @Test func aKeptExerciseLineDecodesToTheSameResult() throws {
        let e = ExerciseResult(id: "kstrdup", status: .fail, score: 0, maxScore: 2, feedback: "say \"why\"\nhere")
        let line = Data(WorkerProtocol.exerciseLine(seq: 7, e).dropLast().utf8)
        #expect(WorkerProtocol.exerciseLineSeq(line) == 7)
        let decoded = try JSONDecoder().decode(WorkerProtocol.Message.self, from: line)
        #expect(decoded.exercise?.id == e.id && decoded.exercise?.feedback == e.feedback && decoded.seq == 7)
    }
}

@Suite struct WorkerEnvironmentTests {
    @Test func workersGetALargerMallocCacheAndKeepTheRest() {
        let env = WorkerProcess.environment()
        let tunables = env.filter { $0.hasPrefix("GLIBC_TUNABLES=") }
        #expect(tunables.count == 1)
        #expect(tunables.first?.hasSuffix("glibc.malloc.tcache_count=4096") == true)
        #expect(env.contains { $0.hasPrefix("PATH=") } == (ProcessInfo.processInfo.environment["PATH"] != nil))
    }
}
