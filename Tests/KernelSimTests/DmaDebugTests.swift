import Testing
@testable import KernelSim

/// kernel/dma/debug.c err_printk() messages and include/linux/dma-mapping.h.
@Suite struct DmaDebugTests {
    @Test func directionNamesAreDir2name() {
        #expect(DmaDirection.allCases.map(\.name) == ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"])
        #expect(DmaDirection.toDevice.rawValue == 1 && DmaDirection.fromDevice.rawValue == 2)
    }

    @Test func messagesHaveTheErrPrintkPrefix() {
        #expect(DmaDebug.mapsVmallocArea(driver: "nic", device: "0000:00:03.0", address: "f8a00000", length: 8192)
                == "DMA-API: nic 0000:00:03.0: device driver maps memory from vmalloc area [addr=f8a00000] [len=8192]")
        #expect(DmaDebug.mapsInvalidArea(driver: "nic", device: "0000:00:03.0", address: "f8a00000", length: 64)
                == "DMA-API: nic 0000:00:03.0: device driver maps memory from invalid area [addr=f8a00000] [len=64]")
        #expect(DmaDebug.mapsStack(driver: "nic", device: "0000:00:03.0", address: "c7a1be40", vmapStack: false)
                == "DMA-API: nic 0000:00:03.0: device driver maps memory from stack [addr=c7a1be40]")
        #expect(DmaDebug.mapsStack(driver: "nic", device: "0000:00:03.0", address: "ffffc90000a3fe40", vmapStack: true)
                == "DMA-API: nic 0000:00:03.0: device driver maps memory from stack [probable addr=ffffc90000a3fe40]")
        #expect(DmaDebug.freesUnallocated(driver: "moxart-ethernet", device: "92000000.mac", dmaAddress: 0, size: 1600)
                == "DMA-API: moxart-ethernet 92000000.mac: device driver tries to free DMA memory it has not allocated [device address=0x0000000000000000] [size=1600 bytes]")
        #expect(DmaDebug.freesDifferentSize(driver: "nic", device: "0000:00:03.0", dmaAddress: 0x1a2b000, mapSize: 2048, unmapSize: 1024)
                == "DMA-API: nic 0000:00:03.0: device driver frees DMA memory with different size [device address=0x0000000001a2b000] [map size=2048 bytes] [unmap size=1024 bytes]")
        #expect(DmaDebug.freesDifferentDirection(driver: "nic", device: "0000:00:03.0", dmaAddress: 0x1000, size: 64,
                                                 mapped: .toDevice, unmapped: .fromDevice)
                == "DMA-API: nic 0000:00:03.0: device driver frees DMA memory with different direction [device address=0x0000000000001000] [size=64 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]")
        #expect(DmaDebug.failedToCheckMapError(driver: "nic", device: "0000:00:03.0", dmaAddress: 0x1000, size: 64, mappedAs: "single")
                == "DMA-API: nic 0000:00:03.0: device driver failed to check map error[device address=0x0000000000001000] [size=64 bytes] [mapped as single]")
        #expect(DmaDebug.rejectingVmalloc(driver: "xhci_hcd", device: "0000:00:14.0")
                == "xhci_hcd 0000:00:14.0: rejecting DMA map of vmalloc memory")
    }

    @Test func victimFramesNameTheirOwners() {
        let lines = DmaDebug.victimFrames(driver: "nic", device: "0000:00:03.0", dmaAddress: 0x37a5000, mapSize: 8192,
                                          transferSize: 8192, write: true,
                                          victims: [DmaVictim(pfn: 0x37a6, owner: "slab kmalloc-128", firstByte: 4096, lastByte: 8191)])
        #expect(lines == [
            "DMA-API: nic 0000:00:03.0: device wrote to frames its mapping does not own [device address=0x00000000037a5000] [map size=8192 bytes] [transfer size=8192 bytes]",
            "DMA-API: victim pfn 0x37a6 [bytes 4096-8191 of the transfer] owned by slab kmalloc-128",
        ])
    }

    @Test func dmaApiWarningIsAWarnFromKernelDmaDebugC() throws {
        let m = Machine()
        let r = m.dmaApiWarning(DmaDebug.freesUnallocated(driver: "nic", device: "0000:00:03.0", dmaAddress: 0x1000, size: 64),
                                function: "check_unmap", line: 1011, address: 0x1000, size: 64)
        #expect(r.kind == .dmaAPI && r.severity == .warning)
        #expect(r.headline.hasPrefix("DMA-API: nic 0000:00:03.0: device driver tries to free"))
        #expect(r.lines[0] == "------------[ cut here ]------------")
        // kernel/panic.c __warn(): the caller as %pS (with its offset), then print_modules().
        #expect(r.lines[2] == "WARNING: CPU: 0 PID: 412 at kernel/dma/debug.c:1011 check_unmap+0xe0/0x200")
        #expect(r.lines[3] == "Modules linked in: kmlab(O)")
        #expect(r.address == 0x1000 && r.size == 64)
    }
}
