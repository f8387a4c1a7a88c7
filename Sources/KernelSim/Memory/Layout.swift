/// The kernel's zones (include/linux/mmzone.h `enum zone_type`), named as
/// /proc/buddyinfo and /proc/zoneinfo name them.
public enum ZoneType: Int, Sendable, CaseIterable, Comparable {
    case dma, dma32, normal, highmem, movable, device

    public var name: String {
        switch self {
        case .dma: return "DMA"
        case .dma32: return "DMA32"
        case .normal: return "Normal"
        case .highmem: return "HighMem"
        case .movable: return "Movable"
        case .device: return "Device"
        }
    }

    public static func < (a: ZoneType, b: ZoneType) -> Bool { a.rawValue < b.rawValue }
}

/// The address-space layout and the kernel constants of one machine: every
/// figure a learner can look up in the kernel source or a boot log.
///
/// x86_32 (3G/1G, no PAE; arch/x86/include/asm/pgtable_32_areas.h), mapped
/// at PAGE_OFFSET 0xC0000000 with 4 MiB pages; `high_memory` = PAGE_OFFSET +
/// lowmem; VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB); VMALLOC_END
/// = PKMAP_BASE - 2 * PAGE_SIZE (LAST_PKMAP = 1024 entries, one page table);
/// the fixmap (with the kmap_local slots) ends at FIXADDR_TOP = 0xfffff000.
/// - 6.12: the CPU entry area and the LDT remap sit between the pkmap area
///   and the fixmap, so PKMAP_BASE = 0xff000000, VMALLOC_END = 0xfeffe000,
///   and MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB)
///   ends lowmem at 0x36ffe000 (just under 880 MiB).
/// - 2.6.18: PKMAP_BASE = 0xff800000, VMALLOC_END = 0xff7fe000, and MAXMEM
///   = 1 GiB - __VMALLOC_RESERVE: lowmem is the first 896 MiB.
///
/// x86_64 (4-level; Documentation/arch/x86/x86_64/mm.rst): direct map of all
/// RAM at 0xffff888000000000 (1 GiB pages, then 2 MiB and 4 KiB pages for a
/// remainder), vmalloc 0xffffc90000000000 ..< VMALLOC_END 0xffffe8ffffffffff,
/// vmemmap at 0xffffea0000000000, kernel text at __START_KERNEL_map
/// 0xffffffff80000000.
public struct KernelLayout: Sendable {
    public let arch: Arch
    public let era: Era
    public let pageSize: UInt64 = 4096
    public let pageShift: UInt64 = 12
    /// `sizeof(void *)`.
    public let pointerSize: Int
    /// Number of page frames (max_pfn): RAM / PAGE_SIZE.
    public let totalPages: UInt64
    /// First pfn above lowmem (max_low_pfn); == totalPages on x86_64.
    public let maxLowPfn: UInt64
    public let pageOffset: UInt64
    /// `high_memory`: the virtual address just past the direct map.
    public let highMemory: UInt64
    public let vmallocStart: UInt64
    /// VMALLOC_END as the kernel defines it (exclusive on x86_32, the last
    /// byte on x86_64); `is_vmalloc_addr(x)` is VMALLOC_START <= x < VMALLOC_END.
    public let vmallocEnd: UInt64
    /// x86_32 only: the pkmap area of `kmap()`, LAST_PKMAP pages from here.
    public let pkmapBase: UInt64
    public let lastPkmap: Int = 1024
    /// x86_32: FIXADDR_TOP and FIXADDR_START (permanent fixmaps).
    public let fixaddrTop: UInt64
    public let fixaddrStart: UInt64
    /// Fixmap index of FIX_KMAP_BEGIN (the first kmap_local slot).
    public let fixKmapBegin: UInt64 = 68
    /// KM_MAX_IDX: kmap_local nesting depth per CPU.
    public let kmapLocalSlots: Int = 16
    /// x86_64: __START_KERNEL_map and KERNEL_IMAGE_SIZE (1 GiB with KASLR).
    public let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    public let kernelImageSize: UInt64 = 1 << 30
    /// x86_64: the vmemmap (struct page array) base.
    public let vmemmapBase: UInt64 = 0xffff_ea00_0000_0000
    /// Physical bits the CPU reports (phys_addr_valid on x86_64).
    public let physAddrBits: UInt64
    /// The kernel image (text, data, bss, boot page tables) in physical memory.
    public let kernelPhysStart: UInt64
    public let kernelPhysEnd: UInt64
    /// mem_map / vmemmap: one struct page per frame.
    public let structPageSize: UInt64
    public let memmapPfnStart: UInt64
    public let memmapPfnEnd: UInt64
    /// Largest buddy order (10 in both eras: 4 MiB blocks).
    public let maxPageOrder: Int = 10
    /// The era's name for the order limit: MAX_PAGE_ORDER = 10 (inclusive,
    /// 6.8+) or MAX_ORDER = 11 (exclusive, until 6.3).
    public let maxOrderConstantName: String
    public let maxOrderConstantValue: Int
    /// Requests above this go to the page allocator (6.x: 8192); 2.6 SLAB has
    /// caches up to 131072.
    public let kmallocMaxCacheSize: UInt64
    /// The largest kmalloc (6.x: 4 MiB; 2.6: 128 KiB).
    public let kmallocMaxSize: UInt64
    /// `uname -r`.
    public let kernelRelease: String
    /// The zones of this architecture in zone_type order, with their spanned
    /// pfn ranges (empty zones have start == end).
    public let zones: [(type: ZoneType, start: UInt64, end: UInt64)]
    /// log2 of the direct map's largest page (22: 4 MiB PSE; 30: 1 GiB).
    public let directMapShift: UInt64

    public init(config: MachineConfig) {
        arch = config.arch
        era = config.era
        let pages = config.ram >> 12
        totalPages = pages
        let v6 = config.era == .v6
        maxOrderConstantName = v6 ? "MAX_PAGE_ORDER" : "MAX_ORDER"
        maxOrderConstantValue = v6 ? 10 : 11
        kmallocMaxCacheSize = v6 ? 8192 : 131072
        kmallocMaxSize = v6 ? 4 << 20 : 131072
        kernelRelease = v6 ? "6.12.0" : "2.6.18"
        switch config.arch {
        case .x86_32:
            pointerSize = 4
            physAddrBits = 32
            structPageSize = 32
            directMapShift = 22
            pageOffset = 0xC000_0000
            if v6 {
                // arch/x86/include/asm/pgtable_32_areas.h (6.12): below the
                // fixmap (FIXADDR_TOT_START 0xffcf9000 for an i386 defconfig
                // fixmap of 774 pages) come the CPU entry area (rounded down
                // to a PMD, 4 MiB without PAE: 0xff800000), the LDT remap
                // (one PMD: 0xff400000), then PKMAP_BASE = 0xff000000 and
                // VMALLOC_END = PKMAP_BASE - 2 pages. MAXMEM = VMALLOC_END -
                // PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB) ends lowmem at
                // 0x36ffe000: 879 MiB and 1016 KiB, not 896 MiB.
                pkmapBase = 0xFF00_0000
                vmallocEnd = pkmapBase - 2 * 4096
                maxLowPfn = min(pages, (vmallocEnd - pageOffset - (128 << 20)) >> 12)
            } else {
                // 2.6.18 (include/asm-i386/pgtable.h, page.h): PKMAP_BASE
                // right below the fixmap, and MAXMEM = -PAGE_OFFSET -
                // __VMALLOC_RESERVE: exactly 896 MiB of lowmem.
                pkmapBase = 0xFF80_0000
                vmallocEnd = pkmapBase - 2 * 4096
                maxLowPfn = min(pages, (896 << 20) >> 12)
            }
            highMemory = pageOffset + (maxLowPfn << 12)
            vmallocStart = highMemory + (8 << 20)
            fixaddrTop = 0xFFFF_F000
            fixaddrStart = 0xFFFF_F000 - (201 << 12)
            kernelPhysStart = v6 ? 16 << 20 : 1 << 20
            kernelPhysEnd = kernelPhysStart + (v6 ? 10 << 20 : 3 << 20)
            let mm = (pages * 32 + 4095) >> 12
            memmapPfnEnd = maxLowPfn
            // mem_map sits at the top of lowmem (memblock allocates top-down).
            // 6.12's lowmem ends off a 4 MiB boundary; kmlab reserves the
            // slack below mem_map down to that boundary too, so the leftover
            // fragments do not become the first blocks every small
            // allocation takes (a simplification: up to 4 MiB more reserved).
            memmapPfnStart = v6 ? (maxLowPfn - mm) & ~1023 : maxLowPfn - mm
            let dmaEnd = min(pages, 4096)
            zones = [(.dma, 0, dmaEnd), (.normal, dmaEnd, maxLowPfn), (.highmem, maxLowPfn, pages)]
                + (v6 ? [(.movable, 0, 0)] : [])
        case .x86_64:
            pointerSize = 8
            physAddrBits = 46
            structPageSize = 64
            directMapShift = 30
            pageOffset = 0xFFFF_8880_0000_0000
            maxLowPfn = pages
            highMemory = pageOffset &+ (pages << 12)
            vmallocStart = 0xFFFF_C900_0000_0000
            vmallocEnd = 0xFFFF_E8FF_FFFF_FFFF
            pkmapBase = 0
            fixaddrTop = 0xFFFF_FFFF_FF5F_F000
            fixaddrStart = 0xFFFF_FFFF_FF57_8000
            kernelPhysStart = v6 ? 16 << 20 : 2 << 20
            kernelPhysEnd = kernelPhysStart + (v6 ? 32 << 20 : 4 << 20)
            // vmemmap is populated with 2 MiB blocks, from the top of RAM.
            var mm = (pages * 64 + 4095) >> 12
            mm = (mm + 511) & ~511
            memmapPfnEnd = pages
            memmapPfnStart = pages - min(mm, pages / 4)
            let dmaEnd = min(pages, 4096)
            let dma32End = min(pages, (4 << 30) >> 12)
            zones = [(.dma, 0, dmaEnd), (.dma32, dmaEnd, dma32End), (.normal, dma32End, pages)]
                + (v6 ? [(.movable, 0, 0), (.device, 0, 0)] : [])
        }
    }

    /// Index of a zone type in `zones` (the kernel's zone_idx), or nil.
    public func zoneIndex(_ t: ZoneType) -> Int? { zones.firstIndex { $0.type == t } }

    /// The direct map covers virtual [pageOffset, highMemory).
    @inline(__always) public func isDirectMap(_ v: UInt64) -> Bool { v >= pageOffset && v < highMemory }

    /// `is_vmalloc_addr()`.
    @inline(__always) public func isVmallocAddr(_ v: UInt64) -> Bool { v >= vmallocStart && v < vmallocEnd }

    /// The kmap_local (fixmap) slot address of slot `i` (x86_32).
    public func kmapLocalAddress(slot i: Int) -> UInt64 { fixaddrTop - ((fixKmapBegin + UInt64(i)) << 12) }

    /// `VMALLOC_TOTAL` as /proc/meminfo reports it.
    public var vmallocTotal: UInt64 { vmallocEnd - vmallocStart }

    /// The kernel constants a Lua script can read, by their kernel names.
    public var constants: [(name: String, value: UInt64)] {
        [("PAGE_SIZE", pageSize), ("PAGE_SHIFT", pageShift), ("PAGE_OFFSET", pageOffset),
         ("KMALLOC_MAX_SIZE", kmallocMaxSize), ("KMALLOC_MAX_CACHE_SIZE", kmallocMaxCacheSize),
         (maxOrderConstantName, UInt64(maxOrderConstantValue)), ("NR_PAGE_ORDERS", 11),
         ("VMALLOC_START", vmallocStart), ("VMALLOC_END", vmallocEnd)]
            + (arch == .x86_32 ? [("PKMAP_BASE", pkmapBase), ("LAST_PKMAP", UInt64(lastPkmap)),
                                  ("FIXADDR_START", fixaddrStart), ("FIXADDR_TOP", fixaddrTop)] : [])
    }
}

/// Source sites the simulated kernel names in its reports (`FILE:LINE`).
/// "verified" lines were seen in real reports of the release the era models
/// (6.8 / 2.6.18); the others are placed where the code is in that release
/// as closely as could be established, and may be off by a few lines. Era
/// "6.x" is 6.12 since the second fidelity pass; these 6.8 lines are kept
/// (mm/ moved by a few dozen lines between the two).
enum KernelSite {
    /// might_alloc() → might_sleep_if(): kmalloc and the page allocator in
    /// 6.8 report include/linux/sched/mm.h:306 (verified in 6.8 reports).
    static func allocMightSleep(_ era: Era) -> (String, Int) {
        era == .v6 ? ("include/linux/sched/mm.h", 306) : ("mm/slab.c", 2903)
    }
    /// __alloc_pages(): might_sleep_if(wait) in 2.6.18 (approximate).
    static func pageAllocMightSleep(_ era: Era) -> (String, Int) {
        era == .v6 ? ("include/linux/sched/mm.h", 306) : ("mm/page_alloc.c", 1014)
    }
    /// alloc_vmap_area(): might_sleep() (6.8, approximate); 2.6.18 reached
    /// the slab check through kmalloc of the vm_struct.
    static func vmallocMightSleep(_ era: Era) -> (String, Int) {
        era == .v6 ? ("mm/vmalloc.c", 1672) : ("mm/slab.c", 2903)
    }
    /// __get_vm_area_node(): BUG_ON(in_interrupt()) — vmalloc from an
    /// interrupt is a BUG before anything could sleep (approximate lines).
    static func vmallocInInterrupt(_ era: Era) -> (String, Int) {
        era == .v6 ? ("mm/vmalloc.c", 3101) : ("mm/vmalloc.c", 186)
    }
    /// vfree(): might_sleep() (6.8, approximate); for 2.6.18 the
    /// BUG_ON(in_interrupt()) at the top of vfree() (approximate).
    static func vfreeMightSleep(_ era: Era) -> (String, Int) {
        era == .v6 ? ("mm/vmalloc.c", 2917) : ("mm/vmalloc.c", 343)
    }
    /// kmap(): might_sleep() in include/linux/highmem-internal.h (approximate).
    static func kmapMightSleep(_ era: Era) -> (String, Int) {
        era == .v6 ? ("include/linux/highmem-internal.h", 41) : ("mm/highmem.c", 191)
    }
    /// __alloc_pages(): WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER) (verified: 6.8-rc2).
    static let orderTooLarge = ("mm/page_alloc.c", 4543)
    /// smp_call_function_single(): WARN_ON_ONCE(cpu_online(this_cpu) &&
    /// irqs_disabled() && !oops_in_progress) and WARN_ON_ONCE(!in_task())
    /// (kernel/smp.c, 6.12, approximate lines).
    static let smpCallIrqsDisabled = ("kernel/smp.c", 636)
    static let smpCallNotTask = ("kernel/smp.c", 643)
    /// __wait_for_common(): might_sleep() (kernel/sched/completion.c, approximate).
    static let waitForCompletion = ("kernel/sched/completion.c", 95)
    /// vfree(): WARN(1, "Trying to vfree() nonexistent vm area") (approximate).
    static let vfreeNonexistent = ("mm/vmalloc.c", 2931)
    /// __vmalloc_node_range(): WARN_ON_ONCE(!size) (approximate).
    static let vmallocZeroSize = ("mm/vmalloc.c", 3294)
    /// kmalloc_fix_flags() dumps the stack; no WARN line.
    /// arch/x86/mm/physaddr.c __phys_addr() VIRTUAL_BUG_ONs (verified by
    /// counting lines in mainline): x86_32 76 (x < PAGE_OFFSET), 77
    /// (is_vmalloc_addr), 80 (beyond max_low_pfn); x86_64 28.
    static let physaddrBelowPageOffset32 = 76
    static let physaddrVmalloc32 = 77
    static let physaddrAboveLowmem32 = 80
    static let physaddr64 = 28
    /// mm/vmalloc.c vmalloc_to_page(): VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr()) (approximate).
    static let vmallocToPageBug = ("mm/vmalloc.c", 685)
    /// mm/highmem.c kmap_local_idx_push(): BUG_ON(idx >= KM_MAX_IDX) (approximate).
    static let kmapLocalOverflow = ("mm/highmem.c", 512)
    /// mm/highmem.c kunmap_local_indexed(): WARN_ON_ONCE(addr != expected) (approximate).
    static let kunmapLocalWrong = ("mm/highmem.c", 620)
    /// mm/slab_common.c __ksize(): WARN_ON for a non-slab, non-large pointer (approximate).
    static let ksizeBad = ("mm/slab_common.c", 1010)
    /// mm/page_alloc.c free_pages(): VM_BUG_ON(!virt_addr_valid(addr)) (approximate).
    static let freePagesInvalid = ("mm/page_alloc.c", 4749)
}
