/// Counters of the simulated machine (`stats()` in Lua).
public struct MemoryStats: Sendable, Equatable {
    public var tlbHits: UInt64 = 0
    public var tlbMisses: UInt64 = 0
    public var pageWalks: UInt64 = 0
    public var pageFaults: UInt64 = 0
    public var ptesWritten: UInt64 = 0
    public var ptesCleared: UInt64 = 0
    public var tlbFlushes: UInt64 = 0
    public var cycles: UInt64 = 0
    public var kmallocs: UInt64 = 0
    public var kfrees: UInt64 = 0
    public var pageAllocs: UInt64 = 0
    public var pageFrees: UInt64 = 0
    public var vmallocs: UInt64 = 0
    public var vfrees: UInt64 = 0
    public var allocFailures: UInt64 = 0
    public var slabsCreated: UInt64 = 0
    public var slabsFreed: UInt64 = 0
    public var pagesReclaimed: UInt64 = 0
    public var kswapdReclaimed: UInt64 = 0
    public var directReclaimed: UInt64 = 0
    public var compactions: UInt64 = 0
    public var bytesRead: UInt64 = 0
    public var bytesWritten: UInt64 = 0
    public var bytesZeroed: UInt64 = 0
    public var kasanReports: UInt64 = 0
    /// DMA mappings bounced through SWIOTLB, and the bytes copied both ways.
    public var swiotlbMaps: UInt64 = 0
    public var swiotlbBouncedBytes: UInt64 = 0
    /// Inter-processor interrupts sent (function calls, TLB flushes among
    /// them), and remote TLB flushes those IPIs made (Memory/TlbShootdown.swift).
    public var ipis: UInt64 = 0
    public var tlbShootdowns: UInt64 = 0

    public init() {}

    /// Every counter by its `stats()` name, in a stable order.
    public var fields: [(name: String, value: UInt64)] {
        [("tlb_hits", tlbHits), ("tlb_misses", tlbMisses), ("page_walks", pageWalks),
         ("page_faults", pageFaults), ("ptes_written", ptesWritten), ("ptes_cleared", ptesCleared),
         ("tlb_flushes", tlbFlushes), ("cycles", cycles), ("kmallocs", kmallocs), ("kfrees", kfrees),
         ("page_allocs", pageAllocs), ("page_frees", pageFrees), ("vmallocs", vmallocs), ("vfrees", vfrees),
         ("alloc_failures", allocFailures), ("slabs_created", slabsCreated), ("slabs_freed", slabsFreed),
         ("pages_reclaimed", pagesReclaimed), ("kswapd_reclaimed", kswapdReclaimed),
         ("direct_reclaimed", directReclaimed), ("compactions", compactions), ("bytes_read", bytesRead),
         ("bytes_written", bytesWritten), ("bytes_zeroed", bytesZeroed), ("kasan_reports", kasanReports),
         ("swiotlb_maps", swiotlbMaps), ("swiotlb_bounced_bytes", swiotlbBouncedBytes),
         ("ipis", ipis), ("tlb_shootdowns", tlbShootdowns)]
    }
}

/// What the simulated clock charges, in CPU cycles of a 1 GHz CPU (so one
/// cycle is one simulated nanosecond). Orders of magnitude follow a modern
/// x86 core; the point is the ratios, e.g. that a 4-level page walk costs
/// far more than a TLB hit, and that vmalloc pays a PTE write per page.
///
/// | event | cycles |
/// | --- | --- |
/// | memory access: per call | 2 |
/// | memory access: per 16 bytes moved | 1 |
/// | TLB hit | 1 |
/// | TLB miss: page walk, per level read | 25 (x86_32 2 levels, x86_64 4; a large page stops earlier) |
/// | page fault (exception entry + report) | 1000 |
/// | PTE write / clear | 10 |
/// | TLB flush, per page (invlpg) | 100 |
/// | TLB flush of everything (CR4.PGE toggle), then refills | 500 |
/// | IPI: send, remote entry/exit, wait for the answer | 2000 |
/// | zeroing, per KiB | 16 |
/// | page allocator: alloc / free a block | 60 / 50, + 20 per split order |
/// | slab fast path (kmalloc / kfree) | 20 / 20 |
/// | new slab / discard a slab | 200 / 150 (plus the page allocator) |
/// | vmalloc area set-up / tear-down | 500 / 300 (plus pages, PTEs, flushes) |
/// | reclaim, per page | 200 |
/// | compaction, per page scanned | 40 |
enum Cost {
    static let accessCall: UInt64 = 2
    static let accessPer16: UInt64 = 1
    static let tlbHit: UInt64 = 1
    static let walkLevel: UInt64 = 25
    static let pageFault: UInt64 = 1000
    static let pteWrite: UInt64 = 10
    static let tlbFlushPage: UInt64 = 100
    static let tlbFlushAll: UInt64 = 500
    static let ipi: UInt64 = 2000
    static let zeroPerKiB: UInt64 = 16
    static let pageAlloc: UInt64 = 60
    static let pageAllocPerOrder: UInt64 = 20
    static let pageFree: UInt64 = 50
    static let slabFast: UInt64 = 20
    static let newSlab: UInt64 = 200
    static let discardSlab: UInt64 = 150
    static let vmallocSetup: UInt64 = 500
    static let vfreeTeardown: UInt64 = 300
    static let reclaimPerPage: UInt64 = 200
    static let compactPerPage: UInt64 = 40
}

extension Machine {
    /// Charges cycles to the clock (1 cycle = 1 ns).
    @inline(__always) func charge(_ cycles: UInt64) {
        stats.cycles &+= cycles
        clockNanoseconds &+= cycles
    }
}
