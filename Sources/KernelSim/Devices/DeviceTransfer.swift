/// The device side of DMA: a bus master reads and writes *physical*
/// memory, contiguously from the bus address it was given, with no MMU in
/// between. Nothing stops it from running past the buffer the driver
/// mapped; on a real machine the corruption is silent. The simulated debug
/// kernel compares every transfer with the device's mappings and names the
/// owners of the frames it had no right to touch (DmaDebug.victimFrames).
extension Machine {
    /// `dev:dma_write(dma, bytes)`: the device writes. Returns the victims
    /// (empty when the transfer stayed inside frames a mapping owns).
    @discardableResult
    public func deviceWrite(_ dev: PciDevice, _ dma: UInt64, bytes: [UInt8]) throws -> [DmaVictim] {
        guard bytes.count <= 1 << 24 else {
            throw DeviceError("a transfer is at most 16 MiB, got \(bytes.count) bytes")
        }
        if let domain = dev.iommu { return try iommuDeviceWrite(dev, domain, dma, bytes: bytes) }
        let victims = transferVictims(dev, dma, count: bytes.count)
        try writePhysical(dma, bytes: bytes)
        charge(Cost.accessCall + UInt64(bytes.count / 16) * Cost.accessPer16)
        if !victims.isEmpty { reportDeviceTransfer(dev, dma, count: bytes.count, write: true, victims: victims) }
        return victims
    }

    /// `dev:dma_read(dma, n)`: the device reads n bytes.
    public func deviceRead(_ dev: PciDevice, _ dma: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, count <= 1 << 24 else {
            throw DeviceError("n must be between 0 and 16 MiB, got \(count)")
        }
        if let domain = dev.iommu { return try iommuDeviceRead(dev, domain, dma, count: count) }
        let victims = transferVictims(dev, dma, count: count)
        let bytes = try readPhysical(dma, count: count)
        charge(Cost.accessCall + UInt64(count / 16) * Cost.accessPer16)
        if !victims.isEmpty { reportDeviceTransfer(dev, dma, count: count, write: false, victims: victims) }
        return bytes
    }

    /// `dev:raise_irq()`: the device asserts its interrupt line.
    public func deviceRaiseIrq(_ dev: PciDevice) throws -> IrqDelivery {
        guard let irq = dev.irq else {
            throw DeviceError("\(dev.driver) \(dev.busName) has no interrupt line (give pci_device an irq=)")
        }
        return try raiseIrq(irq)
    }

    /// The bytes of [dma, dma+count) that no mapping of `dev` covers, or
    /// that land in a frame the mapped buffer does not occupy, grouped by
    /// frame, in transfer order.
    func transferVictims(_ dev: PciDevice, _ dma: UInt64, count: Int) -> [DmaVictim] {
        guard count > 0 else { return [] }
        let mapping = dev.mappings.last { m in
            dma >= m.dmaAddress && dma < m.dmaAddress &+ UInt64(max(m.size, 1))
        }
        var victims: [DmaVictim] = []
        var done = 0
        while done < count {
            let pa = dma &+ UInt64(done)
            if pa < dma { break }
            let pfn = pa >> 12
            let len = min(4096 - Int(pa & 4095), count - done)
            var first: Int?, last = 0
            if let m = mapping, m.ownedPfns.contains(pfn) {
                // inside an owned frame: only bytes past the mapping's end are victims
                let end = m.dmaAddress &+ UInt64(m.size)
                if pa &+ UInt64(len) > end {
                    first = done + Int(end > pa ? end - pa : 0)
                    last = done + len - 1
                }
            } else {
                first = done
                last = done + len - 1
            }
            if let first {
                victims.append(DmaVictim(pfn: pfn, owner: frameOwnerName(dma &+ UInt64(first)), firstByte: first, lastByte: last))
            }
            done += len
        }
        return victims
    }

    /// Who owns the memory at a physical address, as a victim line names it.
    func frameOwnerName(_ pa: UInt64) -> String {
        guard let o = physicalOwner(pa) else { return "nothing (no RAM at this address)" }
        var s = o.page.owner
        if let a = o.objectAddress {
            s += " object \(hex(a))" + (o.objectAllocated == true ? " (allocated)" : " (free)")
        }
        if let v = o.vmallocArea { s += " (vmalloc area \(hex(v)))" }
        return s
    }

    func reportDeviceTransfer(_ dev: PciDevice, _ dma: UInt64, count: Int, write: Bool, victims: [DmaVictim]) {
        let mapping = dev.mappings.last { dma >= $0.dmaAddress && dma < $0.dmaAddress &+ UInt64(max($0.size, 1)) }
        let lines = DmaDebug.victimFrames(driver: dev.driver, device: dev.busName, dmaAddress: dma,
                                          mapSize: mapping?.size ?? 0, transferSize: count, write: write,
                                          victims: victims)
        // Where the script started the transfer (the device has no stack of
        // its own; this is the CPU that programmed it).
        let trace = callTraceLines(kernelFrames: [])
        var r = KernelReport(kind: .dmaCorruption, severity: .warning, lines: lines + trace, address: dma,
                             context: contexts.contextName,
                             fields: contextFields([
                                "device": dev.busName, "driver": dev.driver,
                                "direction": write ? "write" : "read",
                                "victim_pfns": victims.map { "0x" + String($0.pfn, radix: 16) }.joined(separator: ","),
                                "victim_owners": victims.map(\.owner).joined(separator: "; "),
                                "map_size": String(mapping?.size ?? 0),
                             ]))
        r.size = count
        r.headline = lines.first ?? ""
        raise(r)
    }
}
