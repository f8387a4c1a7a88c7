import Testing
@testable import KernelSim

/// /sys/kernel/debug/dma-api/dump (kernel/dma/debug.c, dump_show()): what
/// a grader reads to see that a driver undid every mapping.
@Suite struct DmaDebugDumpTests {
    @Test func listsLiveMappingsInTheKernelsFormatAndForgetsUndoneOnes() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "kmnic", irq: nil, dmaMaskBits: 32)
        let k = try #require(try m.kmalloc(2048, .kernel))
        let dma = try m.dmaMapSingle(dev, k, size: 2048, direction: DmaDirection.fromDevice.rawValue)
        _ = m.dmaMappingErrorCheck(dev, dma)
        let ring = try #require(try m.dmaAllocCoherent(dev, size: 128, flags: .kernel))
        let text = try m.proc("/sys/kernel/debug/dma-api/dump")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        // %pa of a 32-bit phys_addr_t (x86_32 without PAE): 0x and 8 digits.
        func pa(_ v: UInt64) -> String {
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 8 - h.count)) + h
        }
        let single = "kmnic 0000:00:03.0 single idx \((dma >> 13) & 16383) P=\(pa(dma)) D=\(String(dma, radix: 16)) L=800 "
            + "cln=\(pa(dma >> 6)) DMA_FROM_DEVICE dma map error checked"
        #expect(lines.contains(single))
        #expect(lines.contains { $0.hasPrefix("kmnic 0000:00:03.0 coherent idx ") && $0.hasSuffix(" L=80 cln=\(pa(ring.dma >> 6)) DMA_BIDIRECTIONAL dma map error check not applicable") })
        try m.dmaUnmapSingle(dev, dma, size: 2048, direction: DmaDirection.fromDevice.rawValue)
        try m.dmaFreeCoherent(dev, size: 128, cpu: ring.cpu, dma: ring.dma)
        #expect(try m.proc("/sys/kernel/debug/dma-api/dump") == "")
    }

    @Test func anUncheckedMappingSaysSoAndEntriesGoBucketByBucket() throws {
        let m = Machine()
        let dev = try m.pciDevice(driver: "e1000", irq: nil, dmaMaskBits: 32)
        var dmas: [UInt64] = []
        for _ in 0..<6 {
            let k = try #require(try m.kmalloc(4096, .kernel))
            dmas.append(try m.dmaMapSingle(dev, k, size: 4096, direction: DmaDirection.toDevice.rawValue))
        }
        let lines = try m.proc("/sys/kernel/debug/dma-api/dump").split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines.allSatisfy { $0.hasSuffix("DMA_TO_DEVICE dma map error not checked") })
        let idx = lines.compactMap { l in l.split(separator: " ").dropFirst(4).first.flatMap { Int($0) } }
        #expect(idx == idx.sorted() && idx.count == 6)
    }

    @Test func theFileIsNotIn26() throws {
        let old = try Machine(config: MachineConfig(era: .v2_6))
        #expect(throws: (any Error).self) { try old.proc("/sys/kernel/debug/dma-api/dump") }
    }
}
