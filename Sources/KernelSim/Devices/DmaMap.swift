/// The DMA API of the driver side (include/linux/dma-mapping.h,
/// kernel/dma/mapping.c, kernel/dma/direct.c) with dma-debug's checks
/// (kernel/dma/debug.c).
extension Machine {
    /// `dma_map_single(dev, addr, size, dir)`: the bus address of a buffer
    /// in the direct map (its physical address), or DMA_MAPPING_ERROR:
    /// - a vmalloc buffer: 6.x refuses it ("rejecting DMA map of vmalloc
    ///   memory", WARN_ONCE); era 2.6 had no such check: the device gets
    ///   virt_to_phys(ptr), an unrelated frame (dma-debug, which 2.6.18 did
    ///   not have, complains);
    /// - memory outside the direct map (user, kmap, junk): dma-debug's
    ///   "maps memory from invalid area", and (kmlab's choice, virt_to_page
    ///   would give a meaningless address) DMA_MAPPING_ERROR;
    /// - a buffer the mask does not reach: "DMA addr ... overflow" (there
    ///   is no swiotlb to bounce through), DMA_MAPPING_ERROR; on x86_64 with
    ///   more than 4 GiB, SWIOTLB bounces it instead (Swiotlb.swift).
    /// A direction other than the three is the kernel's BUG_ON.
    public func dmaMapSingle(_ dev: PciDevice, _ addr: UInt64, size: Int, direction: Int) throws -> UInt64 {
        guard size >= 0, size <= 1 << 30 else {
            throw KernelArgumentError("dma_map_single", "size", "must be between 0 and 1 GiB, got \(size)")
        }
        guard let dir = DmaDirection(rawValue: direction), dir != .none else {
            // dma_map_page_attrs(): BUG_ON(!valid_dma_direction(dir))
            throw kernelBug(file: "kernel/dma/mapping.c", line: 161, function: "dma_map_page_attrs")
        }
        let addrText = contexts.px(addr)
        var phys: UInt64
        var owned = Set<UInt64>()
        if isVmallocAddr(addr) {
            if config.era == .v6 {
                warnOnce(site: "dma_map_single:vmalloc",
                         message: DmaDebug.rejectingVmalloc(driver: dev.driver, device: dev.busName),
                         file: "include/linux/dma-mapping.h", line: 335, function: "dma_map_single_attrs",
                         kind: .dmaAPI, fields: ["device": dev.busName, "driver": dev.driver])
                return dmaMappingError
            }
            dmaDebugError(dev, DmaDebug.mapsVmallocArea(driver: dev.driver, device: dev.busName, address: addrText, length: size),
                          function: "debug_dma_map_single", line: 1236, address: addr, size: size)
            // 2.6.18 include/asm-i386/dma-mapping.h dma_map_single():
            // `return virt_to_phys(ptr);`: __pa() of a vmalloc address, a
            // frame that has nothing to do with the buffer's own.
            let mask: UInt64 = layout.pointerSize == 4 ? 0xffff_ffff : UInt64.max
            phys = (addr &- layout.pageOffset) & mask
            // The buffer's own frames: what the device should have written.
            var va = addr & ~4095
            while va < addr &+ UInt64(size) {
                if let p = try vmallocToPage(va) { owned.insert(p.pfn) }
                va &+= 4096
            }
        } else if !virtAddrValid(addr) {
            dmaDebugError(dev, DmaDebug.mapsInvalidArea(driver: dev.driver, device: dev.busName, address: addrText, length: size),
                          function: "debug_dma_map_single", line: 1232, address: addr, size: size)
            return dmaMappingError
        } else {
            phys = try pa(addr)
            var pfn = phys >> 12
            while pfn << 12 < phys &+ UInt64(size) {
                owned.insert(pfn)
                pfn += 1
            }
        }
        if let domain = dev.iommu {
            // iommu_dma_map_page(): the mask limits the IOVA, not the buffer.
            guard let m = iommuMapContiguous(domain, dev, phys: phys, size: size, direction: dir) else { return dmaMappingError }
            dev.mappings.append(DmaMapping(kind: .single, dmaAddress: m.iova, size: size, direction: dir, cpuAddress: addr,
                                           ownedPfns: owned, errorChecked: false, paddr: phys, iovaPages: m.pages))
            return m.iova
        }
        if size > 0, phys &+ UInt64(size) &- 1 > dev.dmaMask || phys &+ UInt64(size) < phys {
            // dma_direct_map_page(): a buffer the device cannot reach bounces
            // through SWIOTLB when it is active (kernel/dma/direct.h).
            if swiotlb != nil {
                guard let tlb = try swiotlbMap(dev, phys: phys, size: size, direction: dir) else { return dmaMappingError }
                let owned = Set((tlb >> 12)...((tlb &+ UInt64(size) &- 1) >> 12))
                dev.mappings.append(DmaMapping(kind: .single, dmaAddress: tlb, size: size, direction: dir,
                                               cpuAddress: addr, ownedPfns: owned, errorChecked: false))
                return tlb
            }
            warnOnce(site: "dma_direct_map_page:overflow",
                     message: "\(dev.driver) \(dev.busName): DMA addr \(padHex(phys))+\(size) overflow (mask \(String(dev.dmaMask, radix: 16)), bus limit 0).",
                     file: "kernel/dma/direct.h", line: 103, function: "dma_direct_map_page",
                     kind: .dmaAPI, fields: ["device": dev.busName, "driver": dev.driver])
            return dmaMappingError
        }
        dev.mappings.append(DmaMapping(kind: .single, dmaAddress: phys, size: size, direction: dir,
                                       cpuAddress: addr, ownedPfns: owned, errorChecked: false))
        return phys
    }

    /// `%pad`: the dma_addr_t in hex, as wide as the type.
    func padHex(_ v: UInt64) -> String {
        "0x" + hexPad(v, contexts.pointerBits == 64 ? 16 : 8)
    }

    /// `dma_mapping_error(dev, addr)`: whether a map call failed. dma-debug
    /// notes that the driver checked.
    public func dmaMappingErrorCheck(_ dev: PciDevice, _ dma: UInt64) -> Bool {
        if let i = dev.mappings.lastIndex(where: { $0.dmaAddress == dma && $0.kind == .single }) {
            dev.mappings[i].errorChecked = true
        }
        return dma == dmaMappingError
    }

    /// `dma_unmap_single(dev, dma, size, dir)`, with dma-debug's check_unmap().
    public func dmaUnmapSingle(_ dev: PciDevice, _ dma: UInt64, size: Int, direction: Int) throws {
        guard size >= 0 else { throw KernelArgumentError("dma_unmap_single", "size", "must be a non-negative integer, got \(size)") }
        let dir = DmaDirection(rawValue: direction) ?? .none
        guard let i = dev.mappings.firstIndex(where: { $0.dmaAddress == dma }) else {
            dmaDebugError(dev, DmaDebug.freesUnallocated(driver: dev.driver, device: dev.busName, dmaAddress: dma, size: size),
                          function: "check_unmap", line: 997, address: dma, size: size)
            return
        }
        let m = dev.mappings.remove(at: i)
        checkUnmap(dev, m, size: size, direction: dir, as: .single)
        if let domain = dev.iommu, m.iovaPages > 0 { iommuUnmap(domain, iova: m.dmaAddress, pages: m.iovaPages) }
        // swiotlb_tbl_unmap_single(): the bounce copies back, with the direction the mapping was made with.
        if m.kind == .single, swiotlbMapping(containing: m.dmaAddress) != nil {
            try swiotlbUnmap(m.dmaAddress, direction: m.direction)
        }
    }

    /// check_unmap()'s comparisons of a found entry with the unmap call.
    func checkUnmap(_ dev: PciDevice, _ m: DmaMapping, size: Int, direction: DmaDirection?, as kind: DmaMapping.Kind) {
        let d = dev.driver, b = dev.busName
        if m.size != size {
            dmaDebugError(dev, DmaDebug.freesDifferentSize(driver: d, device: b, dmaAddress: m.dmaAddress, mapSize: m.size, unmapSize: size),
                          function: "check_unmap", line: 1010, address: m.dmaAddress, size: size)
        }
        if m.kind != kind {
            dmaDebugError(dev, DmaDebug.freesWithWrongFunction(driver: d, device: b, dmaAddress: m.dmaAddress, size: size,
                                                                mappedAs: m.kind.rawValue, unmappedAs: kind.rawValue),
                          function: "check_unmap", line: 1018, address: m.dmaAddress, size: size)
        }
        if let direction, m.kind != .coherent, m.direction != direction {
            dmaDebugError(dev, DmaDebug.freesDifferentDirection(driver: d, device: b, dmaAddress: m.dmaAddress, size: size,
                                                                 mapped: m.direction, unmapped: direction),
                          function: "check_unmap", line: 1051, address: m.dmaAddress, size: size)
        }
        if m.kind == .single, !m.errorChecked {
            dmaDebugError(dev, DmaDebug.failedToCheckMapError(driver: d, device: b, dmaAddress: m.dmaAddress, size: size,
                                                               mappedAs: m.kind.rawValue),
                          function: "check_unmap", line: 1060, address: m.dmaAddress, size: size)
        }
    }

    /// `dma_alloc_coherent(dev, size, flags)`: zeroed, physically contiguous
    /// pages the device can reach: the zone comes from the mask (24 bits:
    /// ZONE_DMA; 32 bits on x86_64: ZONE_DMA32), whatever zone flags the
    /// caller gave (dma_alloc_attrs strips them). Returns (cpu address,
    /// dma address) or nil. Sleeps unless the flags say GFP_ATOMIC.
    public func dmaAllocCoherent(_ dev: PciDevice, size: Int, flags: GFP) throws -> (cpu: UInt64, dma: UInt64)? {
        guard size > 0, size <= Int(layout.kmallocMaxSize) else { return nil }
        var gfp = flags.subtracting([.dma, .dma32, .highmem]).union(.zero)
        if dev.iommu != nil {
            // iommu_dma_alloc(): any frames will do, the IOMMU maps them below
            // the mask. kmlab takes the contiguous path (iommu_dma_alloc_pages,
            // as for atomic callers or DMA_ATTR_FORCE_CONTIGUOUS) for every
            // caller: the CPU address stays in the direct map.
        } else if dev.dmaMask <= Machine.dmaBitMask(24) {
            gfp.insert(.dma)
        } else if dev.dmaMask <= Machine.dmaBitMask(32) && contexts.pointerBits == 64 {
            gfp.insert(.dma32)
        }
        var order = 0
        while (4096 << order) < size { order += 1 }
        guard var cpu = try getFreePages(gfp, order: order) else { return nil }
        var phys = try pa(cpu)
        if let domain = dev.iommu {
            guard let m = iommuMapContiguous(domain, dev, phys: phys, size: size, direction: .bidirectional) else {
                try freePagesAddress(cpu, order: order)
                return nil
            }
            let owned = Set((0..<UInt64(1 << order)).map { (phys >> 12) + $0 })
            dev.mappings.append(DmaMapping(kind: .coherent, dmaAddress: m.iova, size: size, direction: .bidirectional,
                                           cpuAddress: cpu, ownedPfns: owned, errorChecked: true, paddr: phys, iovaPages: m.pages))
            return (cpu, m.iova)
        }
        if phys &+ UInt64(size) &- 1 > dev.dmaMask, !gfp.contains(.dma) {
            // __dma_direct_alloc_pages(): retry from ZONE_DMA
            try freePagesAddress(cpu, order: order)
            guard let again = try getFreePages(gfp.subtracting(.dma32).union(.dma), order: order) else { return nil }
            cpu = again
            phys = try pa(cpu)
        }
        if phys &+ UInt64(size) &- 1 > dev.dmaMask {
            try freePagesAddress(cpu, order: order)
            return nil
        }
        let owned = Set((0..<UInt64(1 << order)).map { (phys >> 12) + $0 })
        dev.mappings.append(DmaMapping(kind: .coherent, dmaAddress: phys, size: size, direction: .bidirectional,
                                       cpuAddress: cpu, ownedPfns: owned, errorChecked: true))
        return (cpu, phys)
    }

    /// `dma_free_coherent(dev, size, cpu, dma)`: dma-debug checks the entry;
    /// the pages are freed only if the entry exists.
    public func dmaFreeCoherent(_ dev: PciDevice, size: Int, cpu: UInt64, dma: UInt64) throws {
        guard let i = dev.mappings.firstIndex(where: { $0.dmaAddress == dma }) else {
            dmaDebugError(dev, DmaDebug.freesUnallocated(driver: dev.driver, device: dev.busName, dmaAddress: dma, size: size),
                          function: "check_unmap", line: 997, address: dma, size: size)
            return
        }
        let m = dev.mappings.remove(at: i)
        checkUnmap(dev, m, size: size, direction: nil, as: .coherent)
        if let domain = dev.iommu, m.iovaPages > 0 { iommuUnmap(domain, iova: m.dmaAddress, pages: m.iovaPages) }
        guard m.kind == .coherent else { return }
        var order = 0
        while (4096 << order) < m.size { order += 1 }
        try freePagesAddress(m.cpuAddress, order: order)
    }
}

extension Machine {
    /// `dma_map_page(dev, page, offset, size, dir)`: the bus address of
    /// `size` bytes from `offset` into a page frame; any frame will do,
    /// highmem included (no kernel address is needed). The mapping is
    /// physically contiguous from there: if `size` runs past the page's own
    /// allocation (a page from vmalloc_to_page is one order-0 page), the
    /// device will write into frames the driver does not own.
    public func dmaMapPage(_ dev: PciDevice, pfn: UInt64, offset: Int, size: Int, direction: Int) throws -> UInt64 {
        guard pfn < layout.totalPages else {
            throw KernelArgumentError("dma_map_page", "page", "is not a page of this machine (\(hex(pfn)))")
        }
        guard offset >= 0, offset < 4096 else {
            throw KernelArgumentError("dma_map_page", "offset", "must be within the page (0..4095), got \(offset)")
        }
        guard size >= 0, size <= 1 << 30 else {
            throw KernelArgumentError("dma_map_page", "size", "must be between 0 and 1 GiB, got \(size)")
        }
        guard let dir = DmaDirection(rawValue: direction), dir != .none else {
            throw kernelBug(file: "kernel/dma/mapping.c", line: 161, function: "dma_map_page_attrs")
        }
        let phys = pfn << 12 | UInt64(offset)
        if let domain = dev.iommu {
            guard let m = iommuMapContiguous(domain, dev, phys: phys, size: size, direction: dir) else { return dmaMappingError }
            dev.mappings.append(DmaMapping(kind: .single, dmaAddress: m.iova, size: size, direction: dir,
                                           cpuAddress: pageAddress(Page(pfn: pfn)).map { $0 &+ UInt64(offset) } ?? 0,
                                           ownedPfns: ownedFrames(pfn: pfn, phys: phys, size: size), errorChecked: false,
                                           paddr: phys, iovaPages: m.pages))
            return m.iova
        }
        if size > 0, phys &+ UInt64(size) &- 1 > dev.dmaMask {
            if swiotlb != nil {
                guard let tlb = try swiotlbMap(dev, phys: phys, size: size, direction: dir) else { return dmaMappingError }
                let owned = Set((tlb >> 12)...((tlb &+ UInt64(size) &- 1) >> 12))
                dev.mappings.append(DmaMapping(kind: .single, dmaAddress: tlb, size: size, direction: dir,
                                               cpuAddress: pageAddress(Page(pfn: pfn)).map { $0 &+ UInt64(offset) } ?? 0,
                                               ownedPfns: owned, errorChecked: false))
                return tlb
            }
            warnOnce(site: "dma_direct_map_page:overflow",
                     message: "\(dev.driver) \(dev.busName): DMA addr \(padHex(phys))+\(size) overflow (mask \(String(dev.dmaMask, radix: 16)), bus limit 0).",
                     file: "kernel/dma/direct.h", line: 103, function: "dma_direct_map_page",
                     kind: .dmaAPI, fields: ["device": dev.busName, "driver": dev.driver])
            return dmaMappingError
        }
        dev.mappings.append(DmaMapping(kind: .single, dmaAddress: phys, size: size, direction: dir,
                                       cpuAddress: pageAddress(Page(pfn: pfn)).map { $0 &+ UInt64(offset) } ?? 0,
                                       ownedPfns: ownedFrames(pfn: pfn, phys: phys, size: size), errorChecked: false))
        return phys
    }

    /// The frames of [phys, phys+size) that belong to the page's own
    /// allocation (its compound block): the driver's; the rest are not.
    func ownedFrames(pfn: UInt64, phys: UInt64, size: Int) -> Set<UInt64> {
        let head = pageInfo(pfn: pfn)?.headPfn
        var owned: Set<UInt64> = [pfn]
        var p = pfn + 1
        while p << 12 < phys &+ UInt64(size), p < layout.totalPages {
            if let head, pageInfo(pfn: p)?.headPfn == head { owned.insert(p) }
            p += 1
        }
        return owned
    }
}
