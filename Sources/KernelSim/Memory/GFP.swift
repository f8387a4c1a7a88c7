/// GFP ("get free pages") flags with the bit values of include/linux/gfp_types.h
/// in Linux 6.12 (the release era "6.x" models), and the composites built
/// from them.
///
/// `description` prints a mask as the kernel's `%pGg` does (lib/vsprintf.c
/// format_flags over the name table of include/trace/events/mmflags.h):
/// composite names first, matched bits removed, leftovers in hex.
/// `mode` prints `0xcc0(GFP_KERNEL)` as warn_alloc() does.
public struct GFP: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let dma = GFP(rawValue: 0x01)
    public static let highmem = GFP(rawValue: 0x02)
    public static let dma32 = GFP(rawValue: 0x04)
    public static let movable = GFP(rawValue: 0x08)
    public static let reclaimable = GFP(rawValue: 0x10)
    public static let high = GFP(rawValue: 0x20)
    public static let io = GFP(rawValue: 0x40)
    public static let fs = GFP(rawValue: 0x80)
    public static let zero = GFP(rawValue: 0x100)
    public static let directReclaim = GFP(rawValue: 0x400)
    public static let kswapdReclaim = GFP(rawValue: 0x800)
    public static let write = GFP(rawValue: 0x1000)
    public static let nowarn = GFP(rawValue: 0x2000)
    public static let retryMayfail = GFP(rawValue: 0x4000)
    public static let nofail = GFP(rawValue: 0x8000)
    public static let noretry = GFP(rawValue: 0x10000)
    public static let memalloc = GFP(rawValue: 0x20000)
    public static let comp = GFP(rawValue: 0x40000)
    public static let nomemalloc = GFP(rawValue: 0x80000)
    public static let hardwall = GFP(rawValue: 0x100000)
    public static let thisnode = GFP(rawValue: 0x200000)
    public static let account = GFP(rawValue: 0x400000)
    public static let zerotags = GFP(rawValue: 0x800000)

    public static let reclaim: GFP = [.directReclaim, .kswapdReclaim]
    public static let kernel: GFP = [.reclaim, .io, .fs]                      // 0xcc0
    public static let kernelAccount: GFP = [.kernel, .account]                // 0x400cc0
    public static let atomic: GFP = [.high, .kswapdReclaim]                   // 0x820
    /// 6.12: __GFP_KSWAPD_RECLAIM alone. (__GFP_NOWARN joined it in 6.18,
    /// making it 0x2800; a 6.12 GFP_NOWAIT failure still warns.)
    public static let nowait: GFP = [.kswapdReclaim]                          // 0x800
    public static let noio: GFP = [.reclaim]                                  // 0xc00
    public static let nofs: GFP = [.reclaim, .io]                             // 0xc40
    public static let user: GFP = [.kernel, .hardwall]                        // 0x100cc0
    public static let gfpDMA: GFP = [.dma]
    public static let gfpDMA32: GFP = [.dma32]
    public static let highuser: GFP = [.user, .highmem]                       // 0x100cc2
    public static let highuserMovable: GFP = [.highuser, .movable]            // 0x100cca
    public static let transhugeLight = GFP(rawValue: (0x100cca | 0x40000 | 0x80000 | 0x2000) & ~0xc00)
    public static let transhuge: GFP = [.transhugeLight, .directReclaim]

    /// Every flag and composite by its kernel name, for the Lua constants.
    public static let names: [(name: String, value: UInt32)] = [
        ("GFP_KERNEL", GFP.kernel.rawValue), ("GFP_KERNEL_ACCOUNT", GFP.kernelAccount.rawValue),
        ("GFP_ATOMIC", GFP.atomic.rawValue), ("GFP_NOWAIT", GFP.nowait.rawValue),
        ("GFP_NOIO", GFP.noio.rawValue), ("GFP_NOFS", GFP.nofs.rawValue),
        ("GFP_USER", GFP.user.rawValue), ("GFP_DMA", GFP.gfpDMA.rawValue),
        ("GFP_DMA32", GFP.gfpDMA32.rawValue), ("GFP_HIGHUSER", GFP.highuser.rawValue),
        ("GFP_HIGHUSER_MOVABLE", GFP.highuserMovable.rawValue),
        ("GFP_TRANSHUGE_LIGHT", GFP.transhugeLight.rawValue), ("GFP_TRANSHUGE", GFP.transhuge.rawValue),
        ("__GFP_DMA", 0x01), ("__GFP_HIGHMEM", 0x02), ("__GFP_DMA32", 0x04), ("__GFP_MOVABLE", 0x08),
        ("__GFP_RECLAIMABLE", 0x10), ("__GFP_HIGH", 0x20), ("__GFP_IO", 0x40), ("__GFP_FS", 0x80),
        ("__GFP_ZERO", 0x100), ("__GFP_DIRECT_RECLAIM", 0x400), ("__GFP_KSWAPD_RECLAIM", 0x800),
        ("__GFP_RECLAIM", 0xc00), ("__GFP_WRITE", 0x1000), ("__GFP_NOWARN", 0x2000),
        ("__GFP_RETRY_MAYFAIL", 0x4000), ("__GFP_NOFAIL", 0x8000), ("__GFP_NORETRY", 0x10000),
        ("__GFP_MEMALLOC", 0x20000), ("__GFP_COMP", 0x40000), ("__GFP_NOMEMALLOC", 0x80000),
        ("__GFP_HARDWALL", 0x100000), ("__GFP_THISNODE", 0x200000), ("__GFP_ACCOUNT", 0x400000),
        ("__GFP_ZEROTAGS", 0x800000),
    ]

    /// __def_gfpflag_names order (include/trace/events/mmflags.h).
    static let printTable: [(String, UInt32)] = [
        ("GFP_TRANSHUGE", GFP.transhuge.rawValue), ("GFP_TRANSHUGE_LIGHT", GFP.transhugeLight.rawValue),
        ("GFP_HIGHUSER_MOVABLE", 0x100cca), ("GFP_HIGHUSER", 0x100cc2), ("GFP_USER", 0x100cc0),
        ("GFP_KERNEL_ACCOUNT", 0x400cc0), ("GFP_KERNEL", 0xcc0), ("GFP_NOFS", 0xc40),
        ("GFP_ATOMIC", 0x820), ("GFP_NOIO", 0xc00), ("GFP_NOWAIT", 0x800), ("GFP_DMA", 0x01),
        ("GFP_DMA32", 0x04), ("__GFP_RECLAIM", 0xc00),
        ("__GFP_DMA", 0x01), ("__GFP_HIGHMEM", 0x02), ("__GFP_DMA32", 0x04), ("__GFP_MOVABLE", 0x08),
        ("__GFP_RECLAIMABLE", 0x10), ("__GFP_HIGH", 0x20), ("__GFP_IO", 0x40), ("__GFP_FS", 0x80),
        ("__GFP_ZERO", 0x100), ("__GFP_DIRECT_RECLAIM", 0x400), ("__GFP_KSWAPD_RECLAIM", 0x800),
        ("__GFP_WRITE", 0x1000), ("__GFP_NOWARN", 0x2000), ("__GFP_RETRY_MAYFAIL", 0x4000),
        ("__GFP_NOFAIL", 0x8000), ("__GFP_NORETRY", 0x10000), ("__GFP_MEMALLOC", 0x20000),
        ("__GFP_COMP", 0x40000), ("__GFP_NOMEMALLOC", 0x80000), ("__GFP_HARDWALL", 0x100000),
        ("__GFP_THISNODE", 0x200000), ("__GFP_ACCOUNT", 0x400000), ("__GFP_ZEROTAGS", 0x800000),
    ]

    /// `%pGg`: "GFP_KERNEL|__GFP_ZERO"; "" for 0.
    public var description: String {
        var flags = rawValue
        var out = ""
        for (name, mask) in GFP.printTable where flags != 0 {
            if flags & mask != mask { continue }
            out += name
            flags &= ~mask
            if flags != 0 { out += "|" }
        }
        if flags != 0 { out += "0x" + String(flags, radix: 16) }
        return out
    }

    /// `%#x(%pGg)` as in warn_alloc: "0xcc0(GFP_KERNEL)".
    public var mode: String { "\(rawValue == 0 ? "0" : "0x" + String(rawValue, radix: 16))(\(description))" }

    /// `gfpflags_allow_blocking()`: may this allocation sleep?
    @inline(__always) public var allowsBlocking: Bool { rawValue & 0x400 != 0 }

    /// GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK.
    static let slabBugMask: UInt32 = 0x04 | 0x02 | ~UInt32(0xFFFFFF)
    /// GFP_RECLAIM_MASK (mm/internal.h): what slab passes on to the page allocator.
    static let reclaimMask: UInt32 = 0xc00 | 0x20 | 0x40 | 0x80 | 0x2000 | 0x4000 | 0x8000 | 0x10000
        | 0x20000 | 0x80000
    /// GFP_CONSTRAINT_MASK = __GFP_HARDWALL | __GFP_THISNODE.
    static let constraintMask: UInt32 = 0x100000 | 0x200000
}
