import Foundation
import Testing
@testable import Lessons

/// Tasks judged on many cases (lesson 4's hot_buffer, lesson 6's
/// atomic_copy, lesson 8's gather): for learners and grader secrets other
/// than the ones the lessons/wrong files are checked with, another right
/// answer still passes and every shortcut still fails.
@Suite struct TaskCaseVerdictTests {
    static let learners: [(seed: UInt64, secret: UInt64)] = [(0x1ea5_0001, 7), (0xc0ff_ee00_0002, 0x5ec2_e7)]

    /// The exercise `id` of `source` graded against lesson `lesson` as learner `seed` under `secret`.
    static func verdict(_ source: String, lesson: String, exercise id: String, seed: UInt64, secret: UInt64) throws -> ExerciseResult {
        let l = try LessonFixtures.catalog().lesson(id: lesson)
        let r = Grader(lesson: l, caseSecret: secret).grade(source: Array(source.utf8), submissionID: "answers.lua", variantSeed: seed)
        return try #require(r.exercises.first { $0.id == id })
    }

    static func wrongFile(_ name: String) throws -> String {
        try String(contentsOf: LessonFixtures.lessonsDirectory.appendingPathComponent("wrong/" + name), encoding: .utf8)
    }

    // MARK: Other right answers pass

    /// The page allocator is as good as kmalloc for a hot buffer: the direct
    /// map, no page-table entry, at most twice the size.
    @Test func aHotBufferFromThePageAllocatorPasses() throws {
        let source = """
        function alloc_hot_buffer(size)
          local order = 0
          while (PAGE_SIZE << order) < size do order = order + 1 end
          return __get_free_pages(GFP_KERNEL, order)
        end
        """
        for l in Self.learners {
            let e = try Self.verdict(source, lesson: "04", exercise: "hot_buffer", seed: l.seed, secret: l.secret)
            #expect(e.status == .pass, "seed \(l.seed): \(e.feedback)")
        }
    }

    /// The first hint's strategy (the smallest order that holds what
    /// remains, stepping down on failure) takes as few chunks as the
    /// reference's largest-first loop on every machine.
    @Test func gatheringWithTheFirstHintsStrategyPasses() throws {
        let source = """
        function gather_pages(size)
          local chunks, got = {}, 0
          while got < size do
            local order = 0
            while (PAGE_SIZE << order) < size - got and order < MAX_PAGE_ORDER do order = order + 1 end
            local addr
            while order >= 0 do
              addr = __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order)
              if addr then break end
              order = order - 1
            end
            if not addr then break end
            chunks[#chunks + 1] = { addr = addr, order = order }
            got = got + (PAGE_SIZE << order)
          end
          return chunks
        end
        """
        for l in Self.learners {
            let e = try Self.verdict(source, lesson: "08", exercise: "gather", seed: l.seed, secret: l.secret)
            #expect(e.status == .pass, "seed \(l.seed): \(e.feedback)")
        }
    }

    // MARK: Shortcuts fail for every learner

    @Test(arguments: [
        ("04-vmalloc-price-hot-buffer-fixed-size.lua", "04", "hot_buffer"),
        ("04-vmalloc-price-hot-buffer-kept-from-first-call.lua", "04", "hot_buffer"),
        ("04-vmalloc-price-vmalloc-for-hot-data.lua", "04", "hot_buffer"),
        ("06-allocation-failure-gives-up-after-failure.lua", "06", "atomic_copy"),
        ("08-fragmentation-fixed-order.lua", "08", "gather"),
        ("08-fragmentation-page-by-page.lua", "08", "gather"),
        ("08-fragmentation-gfp-kernel-in-atomic.lua", "08", "gather"),
        ("08-fragmentation-frees-others-blocks.lua", "08", "gather"),
    ])
    func aShortcutFailsForOtherLearnersToo(file: String, lesson: String, exercise: String) throws {
        let source = try Self.wrongFile(file)
        for l in Self.learners {
            let e = try Self.verdict(source, lesson: lesson, exercise: exercise, seed: l.seed, secret: l.secret)
            #expect(e.status != .pass && e.score == 0, "\(file) seed \(l.seed) passed \(exercise): \(e.feedback)")
        }
    }

    /// The latch fails only on the injected failure: without the fault
    /// cases (under pressure alone) it would pass. The feedback names the
    /// case with the failing kmalloc.
    @Test func copyPacketThatGivesUpIsCaughtByTheInjectedFailure() throws {
        let e = try Self.verdict(try Self.wrongFile("06-allocation-failure-gives-up-after-failure.lua"),
                                 lesson: "06", exercise: "atomic_copy", seed: 0, secret: Grader.defaultCaseSecret)
        #expect(e.status == .fail)
        #expect(e.feedback.contains("failslab"), "\(e.feedback)")
    }
}
