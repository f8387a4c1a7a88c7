/// SWIOTLB, the software bounce buffer (kernel/dma/swiotlb.c, Linux 6.12).
///
/// arch/x86/kernel/pci-dma.c pci_swiotlb_detect() enables it on x86_64 when
/// RAM reaches above 4 GiB (max_possible_pfn > MAX_DMA32_PFN): a device
/// whose DMA mask cannot reach a buffer (a 32-bit NIC, a buffer above
/// 4 GiB) gets a bus address inside a 64 MiB pool below 4 GiB instead of
/// an error, and the bytes are copied between the two ("bounced"):
/// - at map time, buffer → pool (swiotlb_tbl_map_single always bounces
///   towards the device, so a partial device write cannot expose stale data);
/// - at unmap time and `dma_sync_single_for_cpu`, pool → buffer for
///   DMA_FROM_DEVICE and DMA_BIDIRECTIONAL;
/// - at `dma_sync_single_for_device`, buffer → pool for DMA_TO_DEVICE and
///   DMA_BIDIRECTIONAL.
/// The pool is IO_TLB_SIZE (2 KiB) slots; mappings of a page or more are
/// page aligned.
final class SwiotlbPool {
    /// IO_TLB_SHIFT 11: 2 KiB slots; IO_TLB_DEFAULT_SIZE 64 MiB.
    static let slotSize: UInt64 = 2048
    static let defaultBytes: UInt64 = 64 << 20

    /// Physical start of the pool (memblock_alloc_low: the top below 4 GiB).
    let start: UInt64
    let nslabs: Int
    var used: [Bool]
    var usedCount = 0
    var usedHiwater = 0
    /// Live bounce mappings by pool address: the original buffer's physical
    /// address and the slots taken.
    var mappings: [UInt64: (orig: UInt64, size: Int, slots: Int)] = [:]

    init(start: UInt64, bytes: UInt64) {
        self.start = start
        nslabs = Int(bytes / SwiotlbPool.slotSize)
        used = [Bool](repeating: false, count: nslabs)
    }

    var end: UInt64 { start + UInt64(nslabs) * SwiotlbPool.slotSize }

    func contains(_ pa: UInt64) -> Bool { pa >= start && pa < end }

    /// swiotlb_search_area(): first fit, page-aligned for a page or more.
    func allocate(_ size: Int) -> UInt64? {
        let n = max(1, (size + Int(SwiotlbPool.slotSize) - 1) / Int(SwiotlbPool.slotSize))
        let stride = size >= 4096 ? 2 : 1
        var i = 0
        while i + n <= nslabs {
            if let busy = (i..<i + n).first(where: { used[$0] }) {
                i = (busy / stride + 1) * stride
                continue
            }
            for k in i..<i + n { used[k] = true }
            usedCount += n
            usedHiwater = max(usedHiwater, usedCount)
            return start + UInt64(i) * SwiotlbPool.slotSize
        }
        return nil
    }

    func release(_ addr: UInt64, slots: Int) {
        let i = Int((addr - start) / SwiotlbPool.slotSize)
        for k in i..<min(i + slots, nslabs) where used[k] {
            used[k] = false
            usedCount -= 1
        }
    }
}

extension Machine {
    /// The physical range SWIOTLB reserves at boot on this machine, if any.
    static func swiotlbRange(_ config: MachineConfig) -> (start: UInt64, end: UInt64)? {
        guard config.arch == .x86_64, config.era == .v6, config.ram > 4 << 30 else { return nil }
        return ((4 << 30) - SwiotlbPool.defaultBytes, 4 << 30)
    }

    /// swiotlb_map(): bounce `size` bytes at `phys` through the pool. nil
    /// when the pool is full ("swiotlb buffer is full", as the kernel logs).
    func swiotlbMap(_ dev: PciDevice, phys: UInt64, size: Int, direction: DmaDirection) throws -> UInt64? {
        guard let pool = swiotlb else { return nil }
        guard let tlb = pool.allocate(size) else {
            printk("\(dev.driver) \(dev.busName): swiotlb buffer is full (sz: \(size) bytes), total \(pool.nslabs) (slots), used \(pool.usedCount) (slots)")
            return nil
        }
        let slots = max(1, (size + Int(SwiotlbPool.slotSize) - 1) / Int(SwiotlbPool.slotSize))
        pool.mappings[tlb] = (phys, size, slots)
        try bounce(from: phys, to: tlb, size)
        stats.swiotlbMaps &+= 1
        return tlb
    }

    /// swiotlb_tbl_unmap_single(): copy back for FROM_DEVICE/BIDIRECTIONAL,
    /// free the slots.
    func swiotlbUnmap(_ tlb: UInt64, direction: DmaDirection) throws {
        guard let pool = swiotlb, let m = pool.mappings[tlb] else { return }
        if direction == .fromDevice || direction == .bidirectional {
            // swiotlb_bounce()'s memcpy() into the original buffer is
            // KASAN-checked: a buffer freed before its mapping was undone
            // is written after its free (SWIOTLB is x86_64-only, where all
            // RAM is direct-mapped).
            kasanCheck(va(m.orig), m.size, write: true, function: "swiotlb_bounce")
            try bounce(from: tlb, to: m.orig, m.size)
        }
        pool.release(tlb, slots: m.slots)
        pool.mappings[tlb] = nil
    }

    /// The bounce mapping `dma` falls in: its pool address and entry.
    func swiotlbMapping(containing dma: UInt64) -> (tlb: UInt64, orig: UInt64, size: Int)? {
        guard let pool = swiotlb, pool.contains(dma) else { return nil }
        for (tlb, m) in pool.mappings where dma >= tlb && dma < tlb + UInt64(max(m.size, 1)) {
            return (tlb, m.orig, m.size)
        }
        return nil
    }

    /// swiotlb_bounce(): a CPU copy between the buffer and the pool.
    func bounce(from src: UInt64, to dst: UInt64, _ size: Int) throws {
        guard size > 0 else { return }
        let bytes = try readPhysical(src, count: size)
        try writePhysical(dst, bytes: bytes)
        stats.swiotlbBouncedBytes &+= UInt64(size)
        charge(Cost.accessCall + UInt64(size / 16) * Cost.accessPer16)
    }

    /// `dma_sync_single_for_cpu(dev, dma, size, dir)` / `..._for_device`:
    /// hand the buffer to the CPU or back to the device. On x86 caches are
    /// coherent, so only a bounced mapping has work to do (the copies of
    /// swiotlb_sync_single_for_cpu/_for_device); dma-debug checks the
    /// mapping exists and the direction matches.
    public func dmaSyncSingle(_ dev: PciDevice, _ dma: UInt64, size: Int, direction: Int, forDevice: Bool) throws {
        let function = forDevice ? "dma_sync_single_for_device" : "dma_sync_single_for_cpu"
        guard size >= 0, size <= 1 << 30 else {
            throw KernelArgumentError(function, "size", "must be between 0 and 1 GiB, got \(size)")
        }
        guard let dir = DmaDirection(rawValue: direction), dir != .none else {
            // BUG_ON(!valid_dma_direction(dir)) in __dma_sync_single_for_*.
            throw kernelBug(file: "kernel/dma/mapping.c", line: forDevice ? 360 : 346, function: "__" + function)
        }
        guard let m = dev.mappings.last(where: { dma >= $0.dmaAddress && dma < $0.dmaAddress &+ UInt64(max($0.size, 1)) }) else {
            dmaDebugError(dev, DmaDebug.syncUnallocated(driver: dev.driver, device: dev.busName, dmaAddress: dma, size: size),
                          function: "check_sync", line: 1110, address: dma, size: size)
            return
        }
        if m.kind == .single, m.direction != .bidirectional, m.direction != dir {
            dmaDebugError(dev, DmaDebug.syncDifferentDirection(driver: dev.driver, device: dev.busName, dmaAddress: dma,
                                                                size: size, mapped: m.direction, synced: dir),
                          function: "check_sync", line: 1149, address: dma, size: size)
        }
        guard let b = swiotlbMapping(containing: dma) else { return }
        let offset = dma - b.tlb
        let n = min(size, max(0, b.size - Int(offset)))
        if forDevice {
            // swiotlb_sync_single_for_device(): to the pool for TO_DEVICE/BIDIRECTIONAL.
            if dir == .toDevice || dir == .bidirectional { try bounce(from: b.orig + offset, to: dma, n) }
        } else if dir == .fromDevice || dir == .bidirectional {
            try bounce(from: dma, to: b.orig + offset, n)
        }
    }
}
