/// How reports print kernel symbols, pointers and numbers: `%pS`, `%px`,
/// `%p` (lib/vsprintf.c), and the padding helpers of printk formats.
import SeededRandom

extension Machine {
    /// `%pS` of a kernel function: "name+0xOFF/0xSIZE" with stable offsets.
    public func symbol(_ name: String, module: String? = nil) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let size = 0x40 + (h & 0x7) * 0x40 + ((h >> 8) & 0x3) * 0x100
        let off = 0x10 + ((h >> 16) % (size - 0x20)) & ~UInt64(0x3)
        let s = "\(name)+0x\(String(off, radix: 16))/0x\(String(size, radix: 16))"
        return module.map { s + " [\($0)]" } ?? s
    }

    /// Width of `%px` / `%p`: 8 hex digits on x86_32, 16 on x86_64.
    var pointerDigits: Int { layout.pointerSize * 2 }

    /// `%px`: the raw pointer, zero-padded.
    public func px(_ v: UInt64) -> String { hexPad(v, pointerDigits) }

    /// `%p`: a hashed pointer (lib/vsprintf.c ptr_to_id: 32 bits of siphash
    /// with a boot-time key on 64-bit, printed at pointer width).
    public func hashedPointer(_ v: UInt64) -> String {
        let h = SplitMix64.mix(v ^ (config.seed &* 0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D) & 0xFFFF_FFFF
        return hexPad(h, pointerDigits)
    }

}

/// Zero-padded lower-case hex without "0x".
func hexPad(_ v: UInt64, _ digits: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
}

/// "0x" + hex.
func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

/// Left-justified in `n` columns (`%-Ns`).
func rpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

/// Right-justified in `n` columns (`%Ns`, `%Nlu`).
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
