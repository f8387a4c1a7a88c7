import Testing
import SeededRandom
@testable import KernelSim

/// lib/ratelimit.c ___ratelimit(): the one rate limiter every report uses.
@Suite struct RatelimitTests {
    /// Random message times against a model written from the kernel's
    /// description: windows open at the first message after the last one
    /// closed, at most `burst` pass per window, and the refused ones are
    /// reported once, when the next window opens.
    @Test(arguments: [(UInt64(10_000_000_000), 1), (5_000_000_000, 10), (1_000, 3)])
    func matchesTheWindowModel(interval: UInt64, burst: Int) {
        var rng = SplitMix64(seed: interval &+ UInt64(burst))
        var limit = Ratelimit(interval: interval, burst: burst)
        var now: UInt64 = 0
        var windowStart: UInt64?, passed = 0, refused = 0
        for _ in 0..<5_000 {
            now &+= rng.next() % (interval / UInt64(burst * 4) + 1)
            var expectedSuppressed = 0
            if windowStart == nil || now - windowStart! >= interval {
                if windowStart != nil { expectedSuppressed = refused }
                windowStart = now; passed = 0; refused = 0
            }
            let expectedAllowed = passed < burst
            if expectedAllowed { passed += 1 } else { refused += 1 }
            let got = limit.check(at: now)
            #expect(got.allowed == expectedAllowed && got.suppressed == expectedSuppressed)
            if got.allowed != expectedAllowed || got.suppressed != expectedSuppressed { return }
        }
    }

    @Test func printkDefaultIsTenPerFiveSeconds() {
        var limit = Ratelimit.printkDefault
        let allowed = (0..<25).filter { limit.check(at: UInt64($0) * 100_000_000).allowed }.count
        #expect(allowed == 10)
        let next = limit.check(at: 5_000_000_000)
        #expect(next.allowed && next.suppressed == 15)
    }
}
