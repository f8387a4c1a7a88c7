import Testing
@testable import KernelSim

/// PCI devices, dma-direct mappings (kernel/dma/direct.c, no IOMMU) and the
/// device side of DMA.
@Suite struct DmaDeviceTests {
    @Test func devicesGetPciSlotsAndMasks() throws {
        let m = Machine()
        let a = try m.pciDevice(driver: "e1000", irq: 11, dmaMaskBits: 32)
        let b = try m.pciDevice(driver: "floppy", irq: nil, dmaMaskBits: 24)
        #expect(a.busName == "0000:00:03.0" && b.busName == "0000:00:04.0")
        #expect(a.dmaMask == 0xffff_ffff && b.dmaMask == 0xff_ffff)
        #expect(throws: DeviceError.self) { try m.pciDevice(driver: "x", irq: nil, dmaMaskBits: 16) }
        #expect(Machine.dmaBitMask(64) == .max && Machine.dmaBitMask(0) == 0)
    }

    @Test func aBusAddressIsThePhysicalAddress() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "e1000", irq: nil, dmaMaskBits: 32)
        let k = try #require(try m.kmalloc(256, .kernel))
        let dma = try m.dmaMapSingle(dev, k, size: 256, direction: DmaDirection.fromDevice.rawValue)
        #expect(dma == (try m.pa(k)))
        #expect(try m.deviceWrite(dev, dma, bytes: Array("hello".utf8)).isEmpty)
        #expect(try m.read(k, count: 5) == Array("hello".utf8))
        #expect(dev.mappings.count == 1)
        #expect(!m.dmaMappingErrorCheck(dev, dma))
        try m.dmaUnmapSingle(dev, dma, size: 256, direction: DmaDirection.fromDevice.rawValue)
        #expect(dev.mappings.isEmpty && m.log.reports.isEmpty)
    }

    @Test func writingPastASmallMappingNamesTheNeighbourObject() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "e1000", irq: nil, dmaMaskBits: 32)
        let a = try #require(try m.kmalloc(64, .kernel))
        let b = try #require(try m.kmalloc(64, .kernel))
        let dma = try m.dmaMapSingle(dev, a, size: 64, direction: DmaDirection.fromDevice.rawValue)
        let victims = try m.deviceWrite(dev, dma, bytes: [UInt8](repeating: 0x55, count: 128))
        #expect(victims.count == 1)
        let v = try #require(victims.first)
        #expect(v.firstByte == 64 && v.lastByte == 127)
        let neighbour = b > a ? b : a
        if b == a + 64 { #expect(v.owner == "slab kmalloc-64 object \(hex(neighbour)) (allocated)") }
        #expect(m.log.reports.first?.kind == .dmaCorruption)
    }

    @Test func coherentMemoryFitsTheMaskOnX86_64() throws {
        let m = try Machine(config: MachineConfig(arch: .x86_64, ram: 8 << 30))
        let dev = try m.pciDevice(driver: "nic", irq: nil, dmaMaskBits: 32)
        let r = try #require(try m.dmaAllocCoherent(dev, size: 8192, flags: .kernel))
        #expect(r.dma < 1 << 32)
        #expect(m.pageInfo(pfn: r.dma >> 12)?.zone == "DMA32")
        #expect(try m.read(r.cpu, count: 8192).allSatisfy { $0 == 0 })
        try m.dmaFreeCoherent(dev, size: 8192, cpu: r.cpu, dma: r.dma)
        #expect(dev.mappings.isEmpty && m.log.reports.isEmpty)
    }

    @Test func coherentAllocationInAnIrqHandlerWithGfpKernelIsTheSleepingBug() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "nic", irq: 11, dmaMaskBits: 32)
        var got: (cpu: UInt64, dma: UInt64)?
        _ = m.requestIrq(11, handler: { got = try m.dmaAllocCoherent(dev, size: 4096, flags: .kernel); return .handled },
                         flags: 0, name: "nic", devId: 1)
        #expect(try m.deviceRaiseIrq(dev) == .delivered)
        #expect(got != nil)
        #expect(m.log.reports.first?.kind == .sleepingInAtomic && m.log.reports.first?.context == "hardirq")
    }

    /// Random kmalloc buffers (fixed seed): a transfer of exactly the mapped
    /// size never has victims; k bytes more always have exactly k victim bytes.
    @Test func victimsAreExactlyTheBytesPastTheMapping() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "e1000", irq: nil, dmaMaskBits: 32)
        var rng: UInt64 = 0x2545_f491_4f6c_dd1d
        func next(_ n: UInt64) -> Int { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return Int(rng % n) }
        for _ in 0..<60 {
            let size = 1 + next(9000)
            let k = try #require(try m.kmalloc(size, .kernel))
            let dma = try m.dmaMapSingle(dev, k, size: size, direction: DmaDirection.fromDevice.rawValue)
            #expect(try m.deviceWrite(dev, dma, bytes: [UInt8](repeating: 1, count: size)).isEmpty)
            let extra = 1 + next(300)
            let victims = try m.deviceWrite(dev, dma, bytes: [UInt8](repeating: 2, count: size + extra))
            #expect(victims.reduce(0) { $0 + $1.lastByte - $1.firstByte + 1 } == extra)
            #expect(victims.first?.firstByte == size)
            #expect(m.dmaMappingErrorCheck(dev, dma) == false)
            try m.dmaUnmapSingle(dev, dma, size: size, direction: DmaDirection.fromDevice.rawValue)
        }
        #expect(dev.mappings.isEmpty)
    }
}
