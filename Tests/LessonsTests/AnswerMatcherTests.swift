import Testing
import LuaBridge
@testable import Lessons

@Suite struct AnswerMatcherTests {
    @Test(arguments: ["4M", "4 MiB", "4194304", "4MB", "4096K", "4096 KiB", "0x400000", " 4m ", "4,194,304"])
    func sizesWithUnitsAreAccepted(_ text: String) {
        #expect(AnswerMatcher.same(.string(text), as: .numeric(4_194_304, tolerance: 0, units: true)))
    }

    @Test func numbersAndRejections() {
        let spec = AnswerSpec.numeric(4_194_304, tolerance: 0, units: true)
        #expect(AnswerMatcher.same(.integer(4_194_304), as: spec))
        #expect(AnswerMatcher.same(.number(4_194_304.0), as: spec))
        #expect(!AnswerMatcher.same(.string("4"), as: spec))
        #expect(!AnswerMatcher.same(.string("4 M bananas"), as: spec))
        #expect(!AnswerMatcher.same(.table([]), as: spec))
        #expect(!AnswerMatcher.same(.string("4M"), as: .numeric(4_194_304, tolerance: 0, units: false)))
        #expect(AnswerMatcher.same(.integer(98), as: .numeric(100, tolerance: 5, units: false)))
    }

    @Test func choicesByLetterNumberOrText() {
        let spec = AnswerSpec.choice(options: ["GFP_KERNEL", "GFP_ATOMIC", "vmalloc"], correct: [1])
        for a: LuaValue in [.string("b"), .string("B"), .string("b)"), .integer(2), .string("gfp_atomic")] {
            #expect(AnswerMatcher.same(a, as: spec), "\(a)")
        }
        #expect(!AnswerMatcher.same(.string("a"), as: spec))
        #expect(!AnswerMatcher.same(.string("ab"), as: spec))
        let multi = AnswerSpec.choice(options: ["x", "y", "z"], correct: [0, 2])
        #expect(AnswerMatcher.same(.string("ac"), as: multi))
        #expect(AnswerMatcher.same(.string("c, a"), as: multi))
        #expect(!AnswerMatcher.same(.string("a"), as: multi))
    }

    @Test func exactValuesAndAcceptedSpellings() {
        let spec = AnswerSpec.exact(.integer(0x820), ignoreCase: false)
        #expect(AnswerMatcher.isRight(.integer(0x820), spec: spec, accept: []))
        #expect(!AnswerMatcher.isRight(.integer(0xcc0), spec: spec, accept: []))
        #expect(!AnswerMatcher.isRight(.string("2080"), spec: spec, accept: []))
        #expect(AnswerMatcher.isRight(.string("gfp_atomic"), spec: spec, accept: [.string("GFP_ATOMIC")]))
        let fb = AnswerMatcher.feedback(for: .integer(0xcc0), spec: spec, in: [(.integer(0xcc0), "can sleep")])
        #expect(fb == "can sleep")
    }
}
