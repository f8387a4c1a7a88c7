/// GFP flags as Linux 2.6.18 numbered them (include/linux/gfp.h of 2.6.18),
/// for machines booted with `era="2.6"`. Scripts pass these values; the
/// simulator works with the modern bits (`GFP`), so the glue translates on
/// the way in, and reports print the 2.6 number on the way out.
///
/// 2.6.18 had one `__GFP_WAIT` (0x10) where today's kernel has
/// `__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM`; kswapd was woken for every
/// allocation that reached the slow path, so a 2.6 mask always carries
/// `__GFP_KSWAPD_RECLAIM` when translated.
public enum GFPLegacy {
    /// (2.6.18 bit, the modern flag it means).
    static let bits: [(UInt32, GFP)] = [
        (0x01, .dma), (0x02, .highmem), (0x04, .dma32), (0x10, .directReclaim), (0x20, .high),
        (0x40, .io), (0x80, .fs), (0x200, .nowarn), (0x400, .retryMayfail), (0x800, .nofail),
        (0x1000, .noretry), (0x4000, .comp), (0x8000, .zero), (0x10000, .nomemalloc),
        (0x20000, .hardwall), (0x40000, .thisnode),
    ]

    /// Every 2.6.18 flag and composite by name (the Lua constants of era "2.6").
    public static let names: [(name: String, value: UInt32)] = [
        ("GFP_KERNEL", 0xd0), ("GFP_ATOMIC", 0x20), ("GFP_NOWAIT", 0x0), ("GFP_NOIO", 0x10),
        ("GFP_NOFS", 0x50), ("GFP_USER", 0x200d0), ("GFP_HIGHUSER", 0x200d2), ("GFP_DMA", 0x01),
        ("GFP_DMA32", 0x04),
        ("__GFP_DMA", 0x01), ("__GFP_HIGHMEM", 0x02), ("__GFP_DMA32", 0x04), ("__GFP_WAIT", 0x10),
        ("__GFP_HIGH", 0x20), ("__GFP_IO", 0x40), ("__GFP_FS", 0x80), ("__GFP_COLD", 0x100),
        ("__GFP_NOWARN", 0x200), ("__GFP_REPEAT", 0x400), ("__GFP_NOFAIL", 0x800),
        ("__GFP_NORETRY", 0x1000), ("__GFP_NO_GROW", 0x2000), ("__GFP_COMP", 0x4000),
        ("__GFP_ZERO", 0x8000), ("__GFP_NOMEMALLOC", 0x10000), ("__GFP_HARDWALL", 0x20000),
        ("__GFP_THISNODE", 0x40000),
    ]

    /// __GFP_BITS_SHIFT was 20 in 2.6.18.
    public static let bitsMask: UInt32 = (1 << 20) - 1

    /// A 2.6.18 mask in the simulator's terms. Bits with no modern meaning
    /// (__GFP_COLD, __GFP_NO_GROW) are dropped.
    public static func modern(_ raw: UInt32) -> GFP {
        var g: GFP = [.kswapdReclaim]
        for (bit, flag) in bits where raw & bit != 0 { g.insert(flag) }
        return g
    }

    /// The number a 2.6.18 kernel would print for `gfp` (`mode:0x%x`).
    public static func value(_ gfp: GFP) -> UInt32 {
        var v: UInt32 = 0
        for (bit, flag) in bits where gfp.contains(flag) { v |= bit }
        return v
    }
}
