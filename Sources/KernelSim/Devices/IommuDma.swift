/// DMA through an IOMMU (drivers/iommu/dma-iommu.c with Intel VT-d,
/// drivers/iommu/intel/): a mapping takes a range of I/O virtual addresses
/// from the device's IovaDomain and points its page-table entries at the
/// buffer's frames; the device's transfers are translated page by page, and
/// one that reaches an IOVA with no entry (or without the permission the
/// mapping's direction gives) is blocked and logged as a DMAR fault.
extension Machine {
    /// `dma_info_to_prot()`: TO_DEVICE lets the device read, FROM_DEVICE
    /// write, BIDIRECTIONAL both.
    static func iommuProt(_ dir: DmaDirection) -> (read: Bool, write: Bool) {
        switch dir {
        case .toDevice: return (true, false)
        case .fromDevice: return (false, true)
        case .bidirectional, .none: return (true, true)
        }
    }

    /// `__iommu_dma_map()`: maps `size` bytes of physically contiguous
    /// memory at `phys`; the IOVA keeps the offset into the page. nil when
    /// the domain has no IOVA space left below the mask.
    func iommuMapContiguous(_ domain: IovaDomain, _ dev: PciDevice, phys: UInt64, size: Int,
                            direction: DmaDirection) -> (iova: UInt64, pages: Int)? {
        let offset = phys & (IovaDomain.granule - 1)
        let pages = IovaDomain.pages(size: size, offset: offset)
        guard let iovaPfn = domain.allocate(pages: pages, dmaMask: dev.dmaMask) else { return nil }
        let prot = Machine.iommuProt(direction)
        let first = phys >> 12
        domain.map(iovaPfn: iovaPfn, pfns: (0..<UInt64(pages)).map { first &+ $0 }, read: prot.read, write: prot.write)
        charge(Cost.accessCall)
        return (iovaPfn << 12 | offset, allocatedPages(pages))
    }

    /// How many IOVA pages an allocation of `pages` really holds (the rounding
    /// of iommu_dma_alloc_iova for cacheable sizes).
    func allocatedPages(_ pages: Int) -> Int {
        pages < IovaDomain.cachedSizeLimit ? 1 << (Int.bitWidth - (max(1, pages) - 1).leadingZeroBitCount) : pages
    }

    /// `__iommu_dma_unmap()`: clears the entries and frees the IOVA range.
    func iommuUnmap(_ domain: IovaDomain, iova: UInt64, pages: Int) {
        let pfn = iova >> 12
        domain.unmap(iovaPfn: pfn, pages: pages)
        domain.free(pfn: pfn, pages: pages)
    }

    /// One piece of a translated transfer: `count` bytes at physical `phys`,
    /// starting `offset` bytes into the transfer.
    struct TranslatedChunk {
        var phys: UInt64
        var offset: Int
        var count: Int
    }

    /// Translates a device transfer page by page until the first IOVA the
    /// IOMMU refuses: the chunks before it, and the faulting address if any.
    func iommuTranslate(_ domain: IovaDomain, _ dma: UInt64, count: Int, write: Bool)
        -> (chunks: [TranslatedChunk], fault: UInt64?) {
        var chunks: [TranslatedChunk] = []
        var done = 0
        while done < count {
            let iova = dma &+ UInt64(done)
            if iova < dma { return (chunks, iova) }
            guard let pte = domain.translate(iova), write ? pte.write : pte.read else { return (chunks, iova) }
            let len = min(4096 - Int(iova & 4095), count - done)
            chunks.append(TranslatedChunk(phys: pte.pfn << 12 | iova & 4095, offset: done, count: len))
            done += len
        }
        return (chunks, nil)
    }

    /// The bytes of translated chunks that no mapping of `dev` covers in IOVA
    /// space: the IOMMU maps whole pages, so a transfer running past a small
    /// buffer still lands in the rest of its page, in whatever else is there.
    func iommuVictims(_ dev: PciDevice, _ dma: UInt64, chunks: [TranslatedChunk]) -> [DmaVictim] {
        var victims: [DmaVictim] = []
        for c in chunks {
            let lo = dma &+ UInt64(c.offset), hi = lo &+ UInt64(c.count)
            let covering = dev.mappings
                .map { (start: $0.dmaAddress, end: $0.dmaAddress &+ UInt64(max($0.size, 0))) }
                .filter { $0.start < hi && $0.end > lo }
                .sorted { $0.start < $1.start }
            var cursor = lo
            var firstGap: UInt64?, lastGap: UInt64 = 0
            for r in covering {
                if r.start > cursor {
                    if firstGap == nil { firstGap = cursor }
                    lastGap = min(r.start, hi) - 1
                }
                cursor = max(cursor, r.end)
                if cursor >= hi { break }
            }
            if cursor < hi {
                if firstGap == nil { firstGap = cursor }
                lastGap = hi - 1
            }
            if let g = firstGap {
                let first = c.offset + Int(g - lo), last = c.offset + Int(lastGap - lo)
                let phys = c.phys &+ (g - lo)
                victims.append(DmaVictim(pfn: phys >> 12, owner: frameOwnerName(phys), firstByte: first, lastByte: last))
            }
        }
        return victims
    }

    /// dmar_fault() and dmar_fault_do_one() (drivers/iommu/intel/dmar.c, 6.12),
    /// legacy mode: a request to a page whose entry lacks the permission
    /// (not present has neither) is fault reason 5 for a write, 6 for a
    /// read. The fault record holds the page address (dma_frcd_page_addr).
    func reportDmarFault(_ dev: PciDevice, iova: UInt64, write: Bool) {
        let reason = write ? 5 : 6
        let reasonText = write ? "PTE Write access is not set" : "PTE Read access is not set"
        let page = iova & ~UInt64(4095)
        // source_id: bus 00, PCI_SLOT and PCI_FUNC of "0000:00:03.0".
        let source = String(dev.busName.drop { $0 != ":" }.dropFirst())
        let reasonHex = reason < 16 ? "0" + String(reason, radix: 16) : String(reason, radix: 16)
        let lines = [
            "DMAR: DRHD: handling fault status reg 2",
            "DMAR: [\(write ? "DMA Write" : "DMA Read") NO_PASID] Request device [\(source)] fault addr 0x\(String(page, radix: 16)) [fault reason 0x\(reasonHex)] \(reasonText)",
        ]
        var r = KernelReport(kind: .dmarFault, severity: .warning, lines: lines, address: page,
                             context: contexts.contextName,
                             fields: contextFields([
                                "device": dev.busName, "driver": dev.driver,
                                "direction": write ? "write" : "read",
                                "fault_addr": "0x" + String(page, radix: 16),
                                "fault_reason": String(reason),
                             ]))
        r.headline = lines[1]
        raise(r)
    }

    /// A device write through the IOMMU: the pages before a fault are
    /// written, the faulting request and the rest of the transfer are not.
    func iommuDeviceWrite(_ dev: PciDevice, _ domain: IovaDomain, _ dma: UInt64, bytes: [UInt8]) throws -> [DmaVictim] {
        let t = iommuTranslate(domain, dma, count: bytes.count, write: true)
        let victims = iommuVictims(dev, dma, chunks: t.chunks)
        for c in t.chunks {
            try writePhysical(c.phys, bytes: Array(bytes[c.offset..<c.offset + c.count]))
        }
        charge(Cost.accessCall + UInt64(bytes.count / 16) * Cost.accessPer16)
        if !victims.isEmpty { reportDeviceTransfer(dev, dma, count: bytes.count, write: true, victims: victims) }
        if let f = t.fault { reportDmarFault(dev, iova: f, write: true) }
        return victims
    }

    /// A device read through the IOMMU: the bytes before a fault.
    func iommuDeviceRead(_ dev: PciDevice, _ domain: IovaDomain, _ dma: UInt64, count: Int) throws -> [UInt8] {
        let t = iommuTranslate(domain, dma, count: count, write: false)
        let victims = iommuVictims(dev, dma, chunks: t.chunks)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(t.chunks.reduce(0) { $0 + $1.count })
        for c in t.chunks { bytes += try readPhysical(c.phys, count: c.count) }
        charge(Cost.accessCall + UInt64(count / 16) * Cost.accessPer16)
        if !victims.isEmpty { reportDeviceTransfer(dev, dma, count: count, write: false, victims: victims) }
        if let f = t.fault { reportDmarFault(dev, iova: f, write: false) }
        return bytes
    }
}
