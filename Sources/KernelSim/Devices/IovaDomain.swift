/// A device's IOMMU DMA domain: the I/O virtual address allocator
/// (drivers/iommu/iova.c) and the I/O page table the device's transfers go
/// through (drivers/iommu/intel/iommu.c, second-level tables in legacy mode).
///
/// Allocation follows iova.c: `alloc_iova(iovad, size, limit_pfn, true)`
/// takes the highest free range below the limit, aligned to its size
/// rounded up to a power of two (`size_aligned`); dma-iommu.c first rounds
/// sizes below 32 pages (`IOVA_RANGE_CACHE_MAX_SIZE` 6) up to a power of two,
/// and a freed range of such a size goes to the range cache (`iova_rcache`)
/// still reserved, to be handed out again, most recent first, to the next
/// allocation of that size. The MSI window 0xfee00000-0xfeefffff is
/// reserved, as intel_iommu_get_resv_regions() says (IOAPIC_RANGE_START..END);
/// kmlab does not model the PCI host bridge windows iova_reserve_pci_windows()
/// also keeps out.
public final class IovaDomain {
    /// One IOMMU page-table entry: the frame and DMA_PTE_READ / DMA_PTE_WRITE.
    public struct Pte: Equatable, Sendable {
        public var pfn: UInt64
        public var read: Bool
        public var write: Bool
    }

    /// An allocated (or reserved) range of IOVA page numbers, inclusive.
    struct Range: Equatable {
        var lo: UInt64
        var hi: UInt64
        var reserved: Bool
    }

    /// The IOVA granule: PAGE_SIZE on x86 (iova_shift 12).
    public static let granule: UInt64 = 4096
    /// Sizes below this many pages are rounded to a power of two and cached.
    static let cachedSizeLimit = 1 << 5
    /// How many freed ranges of one size the cache keeps (two per-cpu
    /// magazines of IOVA_MAG_SIZE 127 each).
    static let cacheDepth = 254
    /// Intel VT-d's 48-bit default address width: the top of the aperture.
    static let apertureEndPfn: UInt64 = (1 << 48 - 1) >> 12

    /// Allocated ranges by ascending `lo`.
    var ranges: [Range] = []
    /// Freed, still reserved ranges by log2 of their size: the rcache.
    var rcache: [Int: [UInt64]] = [:]
    /// The I/O page table, by IOVA page number.
    public internal(set) var ptes: [UInt64: Pte] = [:]
    /// Whether `iommu_dma_alloc_iova` still tries below 4 GiB first
    /// (`dev->iommu->pci_32bit_workaround`, cleared after the first miss).
    var tryBelow4G = true

    init() {
        ranges = [Range(lo: 0xfee00, hi: 0xfeeff, reserved: true)]
    }

    /// Pages of IOVA space a mapping of `size` bytes starting `offset` into
    /// a page needs (`iova_align(size + iova_offset)`), at least one.
    static func pages(size: Int, offset: UInt64) -> Int {
        max(1, Int((UInt64(size) &+ offset &+ granule &- 1) / granule))
    }

    /// `iommu_dma_alloc_iova()`: the first page number of `pages` pages of
    /// IOVA space below `dmaMask`, or nil when there is none.
    func allocate(pages: Int, dmaMask: UInt64) -> UInt64? {
        guard pages > 0, pages <= 1 << 24 else { return nil }
        var n = pages
        if n < IovaDomain.cachedSizeLimit { n = 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount) }
        let limit = min(dmaMask >> 12, IovaDomain.apertureEndPfn)
        if n < IovaDomain.cachedSizeLimit, let pfn = popCached(pages: n, limitPfn: limit) { return pfn }
        if tryBelow4G, limit > 0xfffff {
            if let pfn = allocateRange(pages: n, limitPfn: 0xfffff) { return pfn }
            tryBelow4G = false
        }
        return allocateRange(pages: n, limitPfn: limit)
    }

    /// `__free_iova` through `free_iova_fast`: a cacheable size goes to the
    /// rcache (still reserved), any other is released.
    func free(pfn: UInt64, pages: Int) {
        var n = max(1, pages)
        if n < IovaDomain.cachedSizeLimit {
            n = 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
            let bucket = n.trailingZeroBitCount
            if rcache[bucket, default: []].count < IovaDomain.cacheDepth {
                rcache[bucket, default: []].append(pfn)
                return
            }
        }
        if let i = ranges.firstIndex(where: { $0.lo == pfn && !$0.reserved }) { ranges.remove(at: i) }
    }

    /// The most recently cached range of this size at or below the limit.
    private func popCached(pages: Int, limitPfn: UInt64) -> UInt64? {
        let bucket = pages.trailingZeroBitCount
        guard var stack = rcache[bucket],
              let i = stack.lastIndex(where: { $0 &+ UInt64(pages) &- 1 <= limitPfn }) else { return nil }
        let pfn = stack.remove(at: i)
        rcache[bucket] = stack
        return pfn
    }

    /// `__alloc_and_insert_iova_range()`: top-down, size-aligned first fit.
    private func allocateRange(pages: Int, limitPfn: UInt64) -> UInt64? {
        let size = UInt64(pages)
        let alignShift = UInt64(Int.bitWidth - (pages - 1).leadingZeroBitCount)
        let alignMask = alignShift >= 64 ? 0 : ~UInt64(0) << alignShift
        var high = limitPfn &+ 1
        for r in ranges.reversed() where r.lo < high {
            if high >= size {
                let candidate = (high - size) & alignMask
                if candidate > r.hi, candidate >= 1 { return insert(candidate, size) }
            }
            high = min(high, r.lo)
        }
        guard high >= size else { return nil }
        let candidate = (high - size) & alignMask
        // iovad->start_pfn is 1: IOVA 0 is never handed out.
        guard candidate >= 1 else { return nil }
        return insert(candidate, size)
    }

    private func insert(_ lo: UInt64, _ size: UInt64) -> UInt64 {
        let r = Range(lo: lo, hi: lo + size - 1, reserved: false)
        let i = ranges.firstIndex { $0.lo > lo } ?? ranges.count
        ranges.insert(r, at: i)
        return lo
    }

    /// `iommu_map()`: one page-table entry per page.
    func map(iovaPfn: UInt64, pfns: [UInt64], read: Bool, write: Bool) {
        for (i, pfn) in pfns.enumerated() {
            ptes[iovaPfn &+ UInt64(i)] = Pte(pfn: pfn, read: read, write: write)
        }
    }

    /// `iommu_unmap()`: clears the entries (kmlab flushes the IOTLB at once,
    /// as `iommu.strict=1` does).
    func unmap(iovaPfn: UInt64, pages: Int) {
        for i in 0..<UInt64(max(0, pages)) { ptes[iovaPfn &+ i] = nil }
    }

    /// The page-table entry for an I/O virtual address, if it is mapped.
    public func translate(_ iova: UInt64) -> Pte? { ptes[iova >> 12] }

    /// The number of IOVA pages currently allocated to mappings (ranges in
    /// the rcache included, as the kernel keeps them reserved).
    public var allocatedPages: Int {
        ranges.reduce(0) { $0 + ($1.reserved ? 0 : Int($1.hi - $1.lo + 1)) }
    }
}
