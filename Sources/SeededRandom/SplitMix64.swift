/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", 2014): the one seeded generator of kmlab. Everything that
/// must come out the same for the same seed draws from it: boot-time layout
/// choices, fault injection, hashed pointers, the fuzzer's scripts, the
/// randomised tests' cases. It is tiny, fast and has no state beyond one
/// word, so a copy of a generator replays the same stream.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    /// The stream for `seed` (its first output is `mix(seed + 2·γ)`).
    public init(seed: UInt64) { state = seed &+ SplitMix64.gamma }

    /// The stream that continues from `state` (its first output is
    /// `mix(state + γ)`), as the reference implementation's `x = seed`.
    public init(state: UInt64) { self.state = state }

    /// The golden-ratio increment γ.
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) public mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.mix(state)
    }

    /// The output function alone: a good 64-bit mixing hash of `x`.
    @inline(__always) public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform enough in 0..<n (n > 0; 0 when n is 0). Modulo bias is
    /// below 2^-40 for the small n kmlab uses.
    @inline(__always) public mutating func below(_ n: UInt64) -> UInt64 { n == 0 ? 0 : next() % n }
}
