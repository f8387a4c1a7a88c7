import Foundation
import Testing
@testable import Lessons

/// Lesson 11's end-to-end check accepts both strategies the text allows
/// when GFP_ATOMIC fails in the handler, and `learner_function` reads the
/// learner's globals raw.
@Suite struct Lesson11CapstoneTests {
    static func reference() throws -> String {
        try String(contentsOf: LessonFixtures.lessonsDirectory.appendingPathComponent("solutions/11-capstone-nic.lua"), encoding: .utf8)
    }

    /// The reference queues the frame and defers the refill to a work item;
    /// this variant drops the frame and leaves its buffer in the slot.
    @Test func droppingFramesAndReusingTheBufferPasses() throws {
        let deferring = """
            dma_unmap_single(nic.dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
            nic.rx[#nic.rx + 1] = { buf = nic.buf[i], len = len }
            nic.buf[i], nic.dma[i] = nil, nil
            if not refill(i, GFP_ATOMIC | __GFP_NOWARN) then
              poke(nic.ring + i * DESC, string.pack("<I4I4I4I4", 0, 0, 0, 0))
              schedule_work(refill_work)
            end
        """
        let dropping = """
            local old, olddma = nic.buf[i], nic.dma[i]
            if refill(i, GFP_ATOMIC | __GFP_NOWARN) then
              dma_unmap_single(nic.dev, olddma, BUF, DMA_FROM_DEVICE)
              nic.rx[#nic.rx + 1] = { buf = old, len = len }
            else
              poke(nic.ring + i * DESC + 8, string.pack("<I4", 0))
            end
        """
        let source = try Self.reference()
        #expect(source.contains(deferring))
        let result = try LessonFixtures.grade(source.replacingOccurrences(of: deferring, with: dropping), lesson: "11")
        for e in result.exercises where e.status != .pass { Issue.record("\(e.id): \(e.status.rawValue): \(e.feedback)") }
        #expect(result.score == result.maxScore)
        // Dropping every frame under pressure keeps the ring whole: none got through.
        let pressure = result.exercises.first { $0.id == "pressure" }?.feedback ?? ""
        #expect(pressure.hasPrefix("0 of the ") && pressure.contains(" frames sent under pressure got through"), "\(pressure)")
    }

    /// A metatable on _G cannot hand the grader a function the learner
    /// did not define.
    @Test func learnerFunctionIgnoresMetatablesOnGlobals() throws {
        let source = """
            function nic_remove(dev) return 0 end
            setmetatable(_G, { __index = function(_, k) return function() return 4096 end end })
            """
        let result = try LessonFixtures.grade(source, lesson: "11")
        let pressure = try #require(result.exercises.first { $0.id == "pressure" })
        #expect(pressure.status == .fail)
        #expect(pressure.feedback.contains("define nic_probe and nic_read too"))
    }
}
