/// Scatter-gather DMA (`dma_map_sg`, include/linux/dma-mapping.h): a list
/// of (page, offset, length) pieces handed to the device at once.
/// - dma-direct (kernel/dma/direct.c dma_direct_map_sg) maps each piece
///   on its own, at its physical address: as many DMA segments as pieces.
/// - Through an IOMMU (drivers/iommu/dma-iommu.c iommu_dma_map_sg) the list
///   gets one IOVA range, each piece padded to the IOVA granule, and
///   `__finalise_sg` merges pieces that meet on page boundaries into DMA
///   segments of at most `dma_get_max_seg_size()` (64 KiB for a PCI device,
///   pci_device_add()): scattered frames, contiguous addresses.

/// One entry of a `struct scatterlist` as the driver fills it (sg_set_page).
public struct SgEntry: Equatable, Sendable {
    public var pfn: UInt64
    public var offset: Int
    public var length: Int
    public init(pfn: UInt64, offset: Int, length: Int) {
        self.pfn = pfn
        self.offset = offset
        self.length = length
    }
}

/// `sg_dma_address(sg)` and `sg_dma_len(sg)` of one DMA segment.
public struct SgSegment: Equatable, Sendable {
    public var dmaAddress: UInt64
    public var length: Int
}

/// A mapped list as the device keeps it, for dma_unmap_sg.
struct SgList {
    var id: Int
    var firstDma: UInt64
    var nents: Int
    var direction: DmaDirection
    /// The list's IOVA range (through an IOMMU).
    var iova: UInt64?
    var iovaPages: Int
}

extension Machine {
    /// PCI devices' `dma_parms->max_segment_size` (drivers/pci/probe.c).
    static let pciMaxSegmentSize = 65536

    /// `dma_map_sg(dev, sg, nents, dir)`: the DMA segments, or none when
    /// the mapping failed (dma_map_sg returns 0).
    public func dmaMapSg(_ dev: PciDevice, _ entries: [SgEntry], direction: Int) throws -> [SgSegment] {
        guard !entries.isEmpty, entries.count <= 65536 else {
            throw KernelArgumentError("dma_map_sg", "nents", "must be between 1 and 65536, got \(entries.count)")
        }
        var total = 0
        for (i, e) in entries.enumerated() {
            guard e.pfn < layout.totalPages else {
                throw KernelArgumentError("dma_map_sg", "sgl[\(i + 1)].page", "is not a page of this machine (\(hex(e.pfn)))")
            }
            guard e.offset >= 0, e.offset < 4096 else {
                throw KernelArgumentError("dma_map_sg", "sgl[\(i + 1)].offset", "must be within the page (0..4095), got \(e.offset)")
            }
            guard e.length > 0, e.length <= 1 << 30 else {
                throw KernelArgumentError("dma_map_sg", "sgl[\(i + 1)].length", "must be between 1 and 1 GiB, got \(e.length)")
            }
            total += e.length
            guard total <= 1 << 30 else {
                throw KernelArgumentError("dma_map_sg", "sgl", "maps more than 1 GiB in all")
            }
        }
        guard let dir = DmaDirection(rawValue: direction), dir != .none else {
            // dma_map_sg_attrs() -> __dma_map_sg_attrs(): BUG_ON(!valid_dma_direction(dir))
            throw kernelBug(file: "kernel/dma/mapping.c", line: 200, function: "__dma_map_sg_attrs")
        }
        let id = dev.nextSgListID
        dev.nextSgListID += 1
        if let domain = dev.iommu { return iommuMapSg(dev, domain, entries, dir, id: id) }
        var segments: [SgSegment] = []
        for e in entries {
            let before = dev.mappings.count
            let dma = try dmaMapPage(dev, pfn: e.pfn, offset: e.offset, size: e.length, direction: dir.rawValue)
            guard dma != dmaMappingError, dev.mappings.count == before + 1 else {
                // dma_direct_map_sg(): undo the pieces mapped so far, return 0.
                try unmapSgEntries(dev, id: id, direction: dir)
                return []
            }
            dev.mappings[before].kind = .scatterGather
            dev.mappings[before].errorChecked = true
            dev.mappings[before].sgList = id
            segments.append(SgSegment(dmaAddress: dma, length: e.length))
        }
        dev.sgLists.append(SgList(id: id, firstDma: segments[0].dmaAddress, nents: entries.count,
                                  direction: dir, iova: nil, iovaPages: 0))
        return segments
    }

    /// iommu_dma_map_sg() and __finalise_sg().
    func iommuMapSg(_ dev: PciDevice, _ domain: IovaDomain, _ entries: [SgEntry], _ dir: DmaDirection, id: Int) -> [SgSegment] {
        let padded = entries.map { IovaDomain.pages(size: $0.length, offset: UInt64($0.offset)) }
        let pages = padded.reduce(0, +)
        guard let iovaPfn = domain.allocate(pages: pages, dmaMask: dev.dmaMask) else { return [] }
        let prot = Machine.iommuProt(dir)
        var segments: [SgSegment] = []
        var next = iovaPfn
        var curLen = 0
        for (i, e) in entries.enumerated() {
            let n = UInt64(padded[i])
            domain.map(iovaPfn: next, pfns: (0..<n).map { e.pfn &+ $0 }, read: prot.read, write: prot.write)
            let dma = next << 12 | UInt64(e.offset)
            let phys = e.pfn << 12 | UInt64(e.offset)
            dev.mappings.append(DmaMapping(kind: .scatterGather, dmaAddress: dma, size: e.length, direction: dir,
                                           cpuAddress: pageAddress(Page(pfn: e.pfn)).map { $0 &+ UInt64(e.offset) } ?? 0,
                                           ownedPfns: ownedFrames(pfn: e.pfn, phys: phys, size: e.length),
                                           errorChecked: true, paddr: phys, sgList: id))
            // Append to the current segment when this piece starts a page,
            // the previous one filled its pages, and the result stays
            // within the maximum segment size.
            if curLen > 0, e.offset == 0, Machine.pciMaxSegmentSize - curLen >= e.length, let last = segments.indices.last {
                curLen += e.length
                segments[last].length = curLen
            } else {
                curLen = e.length
                segments.append(SgSegment(dmaAddress: dma, length: curLen))
            }
            if e.length + e.offset < Int(n) * 4096 { curLen = 0 }
            next &+= n
        }
        charge(Cost.accessCall)
        dev.sgLists.append(SgList(id: id, firstDma: segments[0].dmaAddress, nents: entries.count, direction: dir,
                                  iova: iovaPfn << 12, iovaPages: allocatedPages(pages)))
        return segments
    }

    /// `dma_unmap_sg(dev, sg, nents, dir)`: `firstDma` is sg_dma_address()
    /// of the list's first entry, as the driver's list holds it; dma-debug
    /// compares the call with the mapping (check_unmap).
    public func dmaUnmapSg(_ dev: PciDevice, firstDma: UInt64, nents: Int, direction: Int) throws {
        let dir = DmaDirection(rawValue: direction) ?? .none
        guard let i = dev.sgLists.firstIndex(where: { $0.firstDma == firstDma }) else {
            dmaDebugError(dev, DmaDebug.freesUnallocated(driver: dev.driver, device: dev.busName, dmaAddress: firstDma, size: 0),
                          function: "check_unmap", line: 997, address: firstDma, size: 0)
            return
        }
        let list = dev.sgLists.remove(at: i)
        if list.nents != nents {
            dmaDebugError(dev, DmaDebug.freesSgWithDifferentCount(driver: dev.driver, device: dev.busName, dmaAddress: firstDma,
                                                                  mapCount: list.nents, unmapCount: nents),
                          function: "check_unmap", line: 1067, address: firstDma, size: nil)
        }
        if dir != list.direction {
            let size = dev.mappings.first { $0.sgList == list.id }?.size ?? 0
            dmaDebugError(dev, DmaDebug.freesDifferentDirection(driver: dev.driver, device: dev.busName, dmaAddress: firstDma, size: size,
                                                                 mapped: list.direction, unmapped: dir),
                          function: "check_unmap", line: 1051, address: firstDma, size: size)
        }
        try unmapSgEntries(dev, id: list.id, direction: list.direction)
        if let domain = dev.iommu, let iova = list.iova { iommuUnmap(domain, iova: iova, pages: list.iovaPages) }
    }

    /// Removes the dma-debug entries of one list (bounce buffers copied back).
    func unmapSgEntries(_ dev: PciDevice, id: Int, direction: DmaDirection) throws {
        let entries = dev.mappings.filter { $0.sgList == id }
        dev.mappings.removeAll { $0.sgList == id }
        for m in entries where dev.iommu == nil && swiotlbMapping(containing: m.dmaAddress) != nil {
            try swiotlbUnmap(m.dmaAddress, direction: direction)
        }
    }
}
