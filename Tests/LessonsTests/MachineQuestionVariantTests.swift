import Foundation
import Testing
@testable import Lessons

/// Questions whose values differ per learner stay true to the simulated
/// kernel: for many learners, an answers file that works each answer out
/// the way the lesson tells a learner to (boot the machine the prompt
/// names, read the kernel's own figures) gets it right, and learners'
/// answers differ, so a copied answer is wrong for most.
@Suite struct MachineQuestionVariantTests {
    static let seeds: [UInt64] = (1...24).map { 0x1e55_0000 + $0 * 7919 }

    func prompt(_ lesson: Lesson, _ id: String) throws -> String {
        try #require(lesson.exercises.first { $0.id == id }).prompt
    }

    func capture(_ pattern: String, in text: String) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let match = try #require(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), "\(pattern) in \(text)")
        return try #require(Range(match.range(at: 1), in: text).map { String(text[$0]) })
    }

    func verdict(_ lesson: Lesson, _ source: String, _ id: String) throws -> ExerciseResult {
        let r = Grader(lesson: lesson).grade(source: Array(source.utf8), submissionID: "answers.lua")
        return try #require(r.exercises.first { $0.id == id })
    }

    /// Lesson 9's lowmem_end: the end of ZONE_NORMAL in /proc/zoneinfo of
    /// the machine the prompt names (2.6.18's 896 MiB, 6.12's 0x36FFE000,
    /// or all of a small machine's RAM).
    @Test func lowmemEndIsTheEndOfZoneNormalOnTheNamedMachine() throws {
        let written = try LessonFixtures.catalog().lesson(id: "09")
        var answers = Set<String>()
        for seed in Self.seeds {
            let lesson = try written.variant(seed: seed)
            let text = try prompt(lesson, "lowmem_end")
            let era = try capture(#"era="([^"]+)""#, in: text), ram = try capture(#"ram="([^"]+)""#, in: text)
            let source = """
                boot{arch = "x86_32", era = "\(era)", ram = "\(ram)"}
                local z = proc("/proc/zoneinfo")
                local normal = z:match("zone%s+Normal(.-)\\nNode") or z:match("zone%s+Normal(.*)")
                local start = tonumber(normal:match("start_pfn:%s+(%d+)"))
                local spanned = tonumber(normal:match("spanned%s+(%d+)"))
                answers = { lowmem_end = (start + spanned) * PAGE_SIZE }
                """
            let v = try verdict(lesson, source, "lowmem_end")
            #expect(v.status == .pass, "seed \(seed), \(era) \(ram): \(v.feedback)")
            answers.insert(era + "/" + ram)
        }
        #expect(answers.count >= 6, "the machines vary between learners: \(answers)")
    }

    /// Lesson 2's max_size and old_limit: KMALLOC_MAX_SIZE of the era the
    /// prompt names, in the prompt's unit.
    @Test func kmallocLimitsAreKmallocMaxSizeInThePromptsUnit() throws {
        let written = try LessonFixtures.catalog().lesson(id: "02")
        var units = Set<String>()
        for seed in Self.seeds {
            let lesson = try written.variant(seed: seed)
            func per(_ id: String) throws -> Int {
                let text = try prompt(lesson, id)
                if text.contains("in bytes") { units.insert(id + " bytes"); return 1 }
                if text.contains("in KiB") { units.insert(id + " KiB"); return 1024 }
                #expect(text.contains("in 4 KiB pages"), "\(text)")
                units.insert(id + " pages")
                return 4096
            }
            let source = """
                boot{era = "6.x"}
                local now = KMALLOC_MAX_SIZE
                boot{era = "2.6"}
                answers = { max_size = now // \(try per("max_size")), old_limit = KMALLOC_MAX_SIZE // \(try per("old_limit")) }
                """
            for id in ["max_size", "old_limit"] {
                let v = try verdict(lesson, source, id)
                #expect(v.status == .pass, "seed \(seed) \(id): \(v.feedback)")
            }
        }
        #expect(units.count == 6, "every unit is drawn for both questions: \(units)")
    }

    /// Lesson 5's sleep_bit: the era's own constant (2.6.18's __GFP_WAIT,
    /// 6.x's __GFP_DIRECT_RECLAIM), read on a machine of that era.
    @Test func sleepBitIsTheErasOwnConstant() throws {
        let written = try LessonFixtures.catalog().lesson(id: "05")
        var eras = Set<String>()
        for seed in Self.seeds {
            let lesson = try written.variant(seed: seed)
            let era = try capture(#"era="([^"]+)""#, in: try prompt(lesson, "sleep_bit"))
            eras.insert(era)
            let source = """
                boot{era = "\(era)"}
                answers = { sleep_bit = \(era == "2.6" ? "__GFP_WAIT" : "__GFP_DIRECT_RECLAIM") }
                """
            let v = try verdict(lesson, source, "sleep_bit")
            #expect(v.status == .pass, "seed \(seed), era \(era): \(v.feedback)")
        }
        #expect(eras == ["2.6", "6.x"])
    }
}
