import Testing
@testable import KernelSim
import SeededRandom

/// DMA through an IOMMU: the IOVA allocator of drivers/iommu/iova.c,
/// iommu_dma_map_sg() / __finalise_sg() of drivers/iommu/dma-iommu.c and
/// the DMAR fault report of drivers/iommu/intel/dmar.c (dmar_fault_do_one).
@Suite struct IommuTests {
    let fromDevice = DmaDirection.fromDevice.rawValue
    let toDevice = DmaDirection.toDevice.rawValue

    @Test func iovaAllocationIsTopDownBelowTheMaskAndSizeAligned_drivers_iommu_iova_c() throws {
        let d = IovaDomain()
        // The first page below 4 GiB, then the next one down.
        #expect(d.allocate(pages: 1, dmaMask: 0xffff_ffff) == 0xfffff)
        #expect(d.allocate(pages: 1, dmaMask: 0xffff_ffff) == 0xffffe)
        // 3 pages round up to 4 (the rcache sizes) and align to 4.
        #expect(d.allocate(pages: 3, dmaMask: 0xffff_ffff) == 0xffff8)
        // 40 pages (not cached) align to 64, in the highest gap that fits.
        #expect(d.allocate(pages: 40, dmaMask: 0xffff_ffff) == 0xfffc0)
        // A 64-bit device still gets an address below 4 GiB first (pci_32bit_workaround).
        #expect(d.allocate(pages: 1, dmaMask: .max) == 0xffffd)
        // A 28-bit mask stays below 256 MiB.
        let low = try #require(d.allocate(pages: 2, dmaMask: 0xfff_ffff))
        #expect(low == 0xfffe)
    }

    @Test func freedRangesOfCachedSizesComeBackMostRecentFirst() {
        let d = IovaDomain()
        let a = d.allocate(pages: 2, dmaMask: 0xffff_ffff)
        let b = d.allocate(pages: 2, dmaMask: 0xffff_ffff)
        #expect(a != nil && b != nil && a != b)
        d.free(pfn: a ?? 0, pages: 2)
        d.free(pfn: b ?? 0, pages: 2)
        #expect(d.allocate(pages: 2, dmaMask: 0xffff_ffff) == b)
        #expect(d.allocate(pages: 2, dmaMask: 0xffff_ffff) == a)
    }

    @Test func theMsiWindowIsNeverHandedOut_intel_iommu_get_resv_regions() {
        let d = IovaDomain()
        // 1024-page ranges (too big for the cache) from the top: the fifth
        // would overlap 0xfee00000-0xfeefffff and goes below it.
        let got = (0..<5).compactMap { _ in d.allocate(pages: 1024, dmaMask: 0xffff_ffff) }
        #expect(got == [0xffc00, 0xff800, 0xff400, 0xff000, 0xfe800])
    }

    @Test func mapSingleReturnsAnIovaThatTranslatesToTheBuffer() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let k = try #require(try m.kmalloc(100, .kernel))
        let dma = try m.dmaMapSingle(dev, k, size: 100, direction: fromDevice)
        #expect(dma == 0xffff_f000 | (try m.pa(k)) & 4095)
        #expect(dma != (try m.pa(k)))
        #expect(try m.deviceWrite(dev, dma, bytes: Array("frame".utf8)).isEmpty)
        #expect(try m.read(k, count: 5) == Array("frame".utf8))
        #expect(!m.dmaMappingErrorCheck(dev, dma))
        try m.dmaUnmapSingle(dev, dma, size: 100, direction: fromDevice)
        #expect(dev.iommu?.translate(dma) == nil)
        #expect(m.log.reports.isEmpty)
    }

    @Test func aTransferToAnUnmappedIovaIsADmarFaultAndWritesNothing() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let k = try #require(try m.kmalloc(4096, .kernel))
        let dma = try m.dmaMapSingle(dev, k, size: 4096, direction: fromDevice)
        _ = m.dmaMappingErrorCheck(dev, dma)
        try m.dmaUnmapSingle(dev, dma, size: 4096, direction: fromDevice)
        try m.write(k, bytes: [1, 2, 3])
        try m.deviceWrite(dev, dma, bytes: [9, 9, 9])
        #expect(try m.read(k, count: 3) == [1, 2, 3])
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .dmarFault)
        #expect(r.lines == [
            "DMAR: DRHD: handling fault status reg 2",
            "DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0xfffff000 [fault reason 0x05] PTE Write access is not set",
        ])
        // Reading a page mapped only for the device to write is reason 6.
        let dma2 = try m.dmaMapSingle(dev, k, size: 64, direction: fromDevice)
        _ = try m.deviceRead(dev, dma2, count: 8)
        #expect(m.log.reports.last?.headline.contains("[DMA Read NO_PASID]") == true)
        #expect(m.log.reports.last?.headline.hasSuffix("[fault reason 0x06] PTE Read access is not set") == true)
    }

    @Test func aTransferStopsAtTheFirstUnmappedPage() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let p = try #require(try m.allocPages(.kernel, order: 0))
        let dma = try m.dmaMapPage(dev, pfn: p.pfn, offset: 0, size: 4096, direction: toDevice)
        let bytes = try m.deviceRead(dev, dma, count: 6000)
        #expect(bytes.count == 4096)
        #expect(m.log.reports.last?.kind == .dmarFault)
    }

    /// Property: any scatter-gather list over scattered frames maps to one
    /// contiguous IOVA range (each entry padded to the granule) whose pages
    /// translate back to the entries' frames; the DMA segments cover the
    /// entries in order; unmapping clears every page.
    @Test func anyScatterGatherListMapsToOneContiguousRange() throws {
        var rng = SplitMix64(seed: 0x10_3300)
        for round in 0..<16 {
            let m = try Machine(config: MachineConfig(fragmented: round % 4 == 0))
            let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: round % 3 == 0 ? 64 : 32, iommu: true)
            let n = 1 + Int(rng.below(24))
            var entries: [SgEntry] = []
            for _ in 0..<n {
                let order = Int(rng.below(3))
                let page = try #require(try m.allocPages(.kernel, order: order))
                let offset = rng.below(3) == 0 ? Int(rng.below(4096)) : 0
                let room = (4096 << order) - offset
                let length = rng.below(2) == 0 ? room : 1 + Int(rng.below(UInt64(room)))
                entries.append(SgEntry(pfn: page.pfn, offset: offset, length: length))
            }
            let segments = try m.dmaMapSg(dev, entries, direction: DmaDirection.bidirectional.rawValue)
            #expect(!segments.isEmpty && segments.count <= n)
            let domain = try #require(dev.iommu)
            let listMappings = dev.mappings.filter { $0.kind == .scatterGather }
            #expect(listMappings.count == n)
            // One range: each entry's IOVA page follows the previous entry's padded pages.
            var expectedPage = try #require(listMappings.first).dmaAddress >> 12
            for (e, mapping) in zip(entries, listMappings) {
                #expect(mapping.dmaAddress == expectedPage << 12 | UInt64(e.offset))
                let pages = (e.offset + e.length + 4095) / 4096
                for i in 0..<UInt64(pages) {
                    #expect(domain.translate((expectedPage + i) << 12)?.pfn == e.pfn + i)
                }
                expectedPage += UInt64(pages)
            }
            // Segments: contiguous in the range, in order, as long as the entries in all.
            #expect(segments.reduce(0) { $0 + $1.length } == entries.reduce(0) { $0 + $1.length })
            #expect(segments.allSatisfy { $0.length <= Machine.pciMaxSegmentSize })
            #expect(segments.first?.dmaAddress == listMappings.first?.dmaAddress)
            for s in segments { #expect(s.dmaAddress < 1 << 32) }
            // A device write over the whole first segment reaches the frames.
            let seg = try #require(segments.first)
            let data = (0..<seg.length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ round) }
            #expect(try m.deviceWrite(dev, seg.dmaAddress, bytes: data).isEmpty)
            var got: [UInt8] = []
            var left = seg.length
            for e in entries where left > 0 {
                let take = min(left, e.length)
                got += try m.readPhysical(e.pfn << 12 | UInt64(e.offset), count: take)
                left -= take
            }
            #expect(got == data)
            try m.dmaUnmapSg(dev, firstDma: seg.dmaAddress, nents: n, direction: DmaDirection.bidirectional.rawValue)
            #expect(domain.ptes.isEmpty && dev.mappings.isEmpty)
            #expect(!m.log.reports.contains { $0.kind == .dmaAPI || $0.kind == .dmarFault || $0.kind == .dmaCorruption })
        }
    }

    @Test func pageSizedPiecesMergeIntoSegmentsOf64KiB_finalise_sg() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let v = try #require(try m.vmalloc(40 * 4096))
        let entries = try (0..<40).map { i -> SgEntry in
            let p = try #require(try m.vmallocToPage(v + UInt64(i) * 4096))
            return SgEntry(pfn: p.pfn, offset: 0, length: 4096)
        }
        let segments = try m.dmaMapSg(dev, entries, direction: toDevice)
        #expect(segments.map(\.length) == [65536, 65536, 32768])
        #expect(segments[1].dmaAddress == segments[0].dmaAddress + 65536)
        // A piece that does not end on a page boundary ends its segment.
        let p = try #require(try m.allocPages(.kernel, order: 1))
        let q = try #require(try m.allocPages(.kernel, order: 0))
        let two = try m.dmaMapSg(dev, [SgEntry(pfn: p.pfn, offset: 0, length: 100), SgEntry(pfn: q.pfn, offset: 0, length: 4096)], direction: toDevice)
        #expect(two.count == 2 && two[1].dmaAddress == two[0].dmaAddress + 4096)
    }

    @Test func withoutAnIommuEachEntryIsItsOwnSegmentAtItsPhysicalAddress() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32)
        let a = try #require(try m.allocPages(.kernel, order: 0))
        let b = try #require(try m.allocPages(.kernel, order: 0))
        let segments = try m.dmaMapSg(dev, [SgEntry(pfn: a.pfn, offset: 16, length: 4000), SgEntry(pfn: b.pfn, offset: 0, length: 4096)],
                                      direction: toDevice)
        #expect(segments == [SgSegment(dmaAddress: a.pfn << 12 | 16, length: 4000), SgSegment(dmaAddress: b.pfn << 12, length: 4096)])
        #expect(dev.mappings.map(\.kind) == [.scatterGather, .scatterGather])
        // dma-debug: unmapping with another entry count.
        try m.dmaUnmapSg(dev, firstDma: segments[0].dmaAddress, nents: 1, direction: toDevice)
        #expect(m.log.reports.last?.headline.contains("device driver frees DMA sg list with different entry count [map count=2] [unmap count=1]") == true)
        #expect(dev.mappings.isEmpty)
    }

    @Test func coherentMemoryGetsAnIovaToo() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let r = try #require(try m.dmaAllocCoherent(dev, size: 8192, flags: .kernel))
        #expect(r.dma == 0xffff_e000)
        #expect(dev.iommu?.translate(r.dma + 4096)?.pfn == (try m.pa(r.cpu)) >> 12 + 1)
        try m.dmaFreeCoherent(dev, size: 8192, cpu: r.cpu, dma: r.dma)
        #expect(dev.iommu?.ptes.isEmpty == true && m.log.reports.isEmpty)
    }

    @Test func aVmallocBufferIsStillRefusedByDmaMapSingle() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true)
        let v = try #require(try m.vmalloc(8192))
        #expect(try m.dmaMapSingle(dev, v, size: 8192, direction: toDevice) == m.dmaMappingError)
        #expect(m.log.reports.last?.headline.contains("rejecting DMA map of vmalloc memory") == true)
    }

    @Test func era26HasNoIommu() throws {
        let m = try Machine(config: MachineConfig(era: .v2_6))
        #expect(throws: DeviceError.self) { try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32, iommu: true) }
    }
}
