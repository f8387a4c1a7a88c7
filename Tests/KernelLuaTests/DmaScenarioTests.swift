import Testing
import KernelSim
import LuaBridge

/// DMA from Lua: dma-direct without an IOMMU (kernel/dma/direct.c), the
/// mapping checks of include/linux/dma-mapping.h and kernel/dma/debug.c, and
/// a bus master that writes physical memory contiguously.
@Suite struct DmaScenarioTests {
    @Test func dmaIntoAKmallocBufferDelivers() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="e1000", irq=11, dma_mask_bits=32}
            local buf = kmalloc(1536, GFP_KERNEL)
            local dma = dma_map_single(dev, buf, 1536, DMA_FROM_DEVICE)
            local failed = dma_mapping_error(dev, dma)
            dev:dma_write(dma, "an ethernet frame")
            dma_unmap_single(dev, dma, 1536, DMA_FROM_DEVICE)
            local got = peek(buf, 17)
            local same = dma == virt_to_phys(buf)
            kfree(buf)
            return failed, got, same
            """)
        #expect(v == [.boolean(false), .string("an ethernet frame"), .boolean(true)])
        #expect(h.reports.isEmpty)
    }

    @Test func dmaIntoAVmallocBufferGoesToAnUnrelatedFrame_asmI386DmaMappingH() throws {
        // Era 2.6 had no "rejecting DMA map of vmalloc memory": 2.6.18's
        // dma_map_single() returned virt_to_phys(ptr), __pa() of the vmalloc
        // address, a frame that is none of the buffer's.
        let h = try KernelHarness()
        let v = h.values("""
            boot{era="2.6", fragmented=true}
            local dev = pci_device{name="e1000", irq=11}
            local buf = vmalloc(3 * PAGE_SIZE)
            local dma = dma_map_single(dev, buf, 3 * PAGE_SIZE, DMA_FROM_DEVICE)
            dev:dma_write(dma, string.rep("X", 3 * PAGE_SIZE))
            local mine = false
            for i = 0, 2 do
              if page_to_phys(vmalloc_to_page(buf + i * PAGE_SIZE)) == dma then mine = true end
            end
            return dma == buf - PAGE_OFFSET, mine, peek(buf, 1) == "X"
            """)
        #expect(v == [.boolean(true), .boolean(false), .boolean(false)])
        let warn = try #require(h.reports.first { $0.kind == .dmaAPI })
        #expect(warn.lines.contains { $0.hasPrefix("DMA-API: e1000 0000:00:03.0: device driver maps memory from vmalloc area [addr=f8809000] [len=12288]") })   // after the boot-time ioremaps and module area
        // dma-debug did not exist in 2.6.18: the report says so.
        #expect(warn.lines.last == "kmlab: DMA-API debugging came in Linux 2.6.30; a 2.6.18 kernel would have printed nothing here")
        let r = try #require(h.reports.first { $0.kind == .dmaCorruption })
        #expect(r.address == 0xf880_9000 - 0xc000_0000 && r.size == 12288 && r.severity == .warning)
    }

    @Test func a6xKernelRefusesToMapVmallocMemory() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="e1000"}
            local buf = vmalloc(8192)
            local dma = dma_map_single(dev, buf, 8192, DMA_TO_DEVICE)
            return dma_mapping_error(dev, dma), dma == DMA_MAPPING_ERROR, DMA_MAPPING_ERROR
            """)
        #expect(v == [.boolean(true), .boolean(true), .integer(0xffff_ffff)])
        let r = try #require(h.reports.first)
        #expect(r.kind == .dmaAPI && r.headline == "e1000 0000:00:03.0: rejecting DMA map of vmalloc memory")
        #expect(r.lines.contains { $0.hasPrefix("WARNING: CPU: 0 PID: 412 at include/linux/dma-mapping.h:") })
    }

    @Test func aDeviceHandedARawAddressWritesWhereverItPoints() throws {
        let h = try KernelHarness()
        h.run("""
            local dev = pci_device{name="e1000"}
            local victim = kmalloc(128, GFP_KERNEL)
            dev:dma_write(virt_to_phys(victim), "boom")
            """)
        let r = try #require(h.reports.first { $0.kind == .dmaCorruption })
        #expect(r.lines[1].hasPrefix("DMA-API: victim pfn 0x"))
        #expect(r.lines[1].contains("owned by slab kmalloc-128 object 0x") && r.lines[1].hasSuffix("(allocated)"))
    }

    @Test func anIsaDeviceNeedsZoneDma() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local isa = pci_device{name="floppy", dma_mask_bits=24}
            local k = kmalloc(512, GFP_KERNEL)
            local bad = dma_map_single(isa, k, 512, DMA_TO_DEVICE)
            local low = kmalloc(512, GFP_KERNEL | GFP_DMA)
            local good = dma_map_single(isa, low, 512, DMA_TO_DEVICE)
            local cpu, dma = dma_alloc_coherent(isa, 8192, GFP_KERNEL)
            local zone = virt_to_page(cpu).zone
            local ok = not dma_mapping_error(isa, good)
            dma_unmap_single(isa, good, 512, DMA_TO_DEVICE)
            dma_free_coherent(isa, 8192, cpu, dma)
            kfree(k) kfree(low)
            return dma_mapping_error(isa, bad), ok, zone, dma < 16 * 1024 * 1024
            """)
        #expect(v == [.boolean(true), .boolean(true), .string("DMA"), .boolean(true)])
        let r = try #require(h.reports.first)
        #expect(h.reports.count == 1)
        #expect(r.kind == .dmaAPI && r.headline.hasPrefix("floppy 0000:00:03.0: DMA addr 0x") && r.headline.hasSuffix("+512 overflow (mask ffffff, bus limit 0)."))
    }

    @Test func dmaDebugChecksUnmaps() throws {
        let h = try KernelHarness()
        h.run("""
            local dev = pci_device{name="e1000"}
            local k = kmalloc(128, GFP_KERNEL)
            local dma = dma_map_single(dev, k, 128, DMA_TO_DEVICE)
            dma_unmap_single(dev, dma, 128, DMA_TO_DEVICE)
            kfree(k)
            """)
        let r = try #require(h.reports.first)
        #expect(r.headline.hasPrefix("DMA-API: e1000 0000:00:03.0: device driver failed to check map error[device address=0x00000000"))
        #expect(r.headline.hasSuffix("] [size=128 bytes] [mapped as single]"))
        #expect(r.kind == .dmaAPI && r.fields["device"] == "0000:00:03.0" && r.size == 128)
        // only the first DMA-API error is shown (show_num_errors = 1); the rest are counted
        h.run("""
            local dev = pci_device{name="e1000"}
            dma_unmap_single(dev, 0x1234, 64, DMA_TO_DEVICE)
            """)
        #expect(h.reports.count == 1)
        #expect(h.machine.contexts.dmaDebugErrorCount == 2)
    }

    @Test func dmaNoneIsAKernelBug() throws {
        let h = try KernelHarness()
        let m = h.errorMessage("local dev = pci_device{name='x'}; local k = kmalloc(8, GFP_KERNEL); dma_map_single(dev, k, 8, DMA_NONE)")
        #expect(m?.contains("kernel BUG at kernel/dma/mapping.c:161!") == true)
    }

    @Test func badDeviceArgumentsAreClearErrors() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("pci_device{name='isa', dma_mask_bits=20}")?.contains("dma_mask_bits 20 is not supported: dma_set_mask() returns -EIO") == true)
        #expect(h.errorMessage("pci_device{dma_mask_bits=32}")?.contains("pci_device: name must be a string") == true)
        #expect(h.errorMessage("pci_device{name='x', dma_mask_bits=99}")?.contains("between 1 and 64") == true)
        #expect(h.errorMessage("pci_device{name='x', irq=999}")?.contains("irq must be an interrupt line") == true)
        #expect(h.errorMessage("pci_device('x')")?.contains("pci_device") == true)
        #expect(h.errorMessage("dma_map_single(42, 0, 8, DMA_TO_DEVICE)")?.contains("dev must be a device") == true)
        #expect(h.errorMessage("local d = pci_device{name='x'}; d:raise_irq()")?.contains("has no interrupt line") == true)
        #expect(h.errorMessage("local d = pci_device{name='x'}; d:dma_read(0, -1)") != nil)
        #expect(h.errorMessage("local d = pci_device{name='x'}; boot{}; d:dma_write(0, 'x')")?.contains("boot{} has replaced") == true)
        #expect(h.errorMessage("DMA_BIT_MASK(65)") != nil)
        #expect(h.values("return DMA_BIT_MASK(24), DMA_BIT_MASK(64), DMA_BIT_MASK(32)") == [.integer(0xffffff), .integer(-1), .integer(0xffff_ffff)])
        // a mapping of memory outside the direct map (a user address) fails
        let v = h.values("local d = pci_device{name='y'}; return dma_mapping_error(d, dma_map_single(d, 0x08048000, 16, DMA_TO_DEVICE))")
        #expect(v == [.boolean(true)])
        // a device reading past the end of RAM gets 0xff and names no owner
        let ff = h.values("local d = pci_device{name='z'}; return d:dma_read(0x7ffffff0, 2)")
        #expect(ff == [.string([0xff, 0xff])])
        #expect(h.reports.last?.lines[1] == "DMA-API: victim pfn 0x7ffff [bytes 0-1 of the transfer] owned by nothing (no RAM at this address)")
    }
}

@Suite struct DmaMapPageTests {
    /// The 6.x way to hand a vmalloc buffer to a device wrongly: one page of
    /// it, mapped for the length of the whole buffer.
    @Test func mappingAVmallocPageForTheWholeBufferCorruptsTheFramesAfterIt() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{fragmented=true}
            local dev = pci_device{name="e1000"}
            local buf = vmalloc(2 * PAGE_SIZE)
            local dma = dma_map_page(dev, vmalloc_to_page(buf), 0, 2 * PAGE_SIZE, DMA_FROM_DEVICE)
            local failed = dma_mapping_error(dev, dma)
            dev:dma_write(dma, string.rep("Z", 2 * PAGE_SIZE))
            dma_unmap_page(dev, dma, 2 * PAGE_SIZE, DMA_FROM_DEVICE)
            return failed, peek(buf, 1), peek(buf + PAGE_SIZE, 1) == "Z"
            """)
        // the first page got the data; the second page of the buffer did not: it went elsewhere
        #expect(v == [.boolean(false), .string("Z"), .boolean(false)])
        let r = try #require(h.reports.first { $0.kind == .dmaCorruption })
        #expect(Array(r.lines.prefix(3)) == [
            "DMA-API: e1000 0000:00:03.0: device wrote to frames its mapping does not own [device address=0x0000000039ffd000] [map size=8192 bytes] [transfer size=8192 bytes]",
            "DMA-API: victim pfn 0x39ffe [bytes 4096-8191 of the transfer] owned by user",
            "Call Trace:",
        ])
        #expect(r.lines.contains(" <chunk> [test:6]"))
        #expect(r.fields["victim_owners"] == "user" && r.fields["driver"] == "e1000")
        #expect(h.reports.count == 1)
    }

    @Test func aHighmemPageCanBeMappedByPage() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="e1000"}
            local page = alloc_page(GFP_HIGHUSER)
            local dma = dma_map_page(dev, page, 16, 100, DMA_FROM_DEVICE)
            local ok = not dma_mapping_error(dev, dma)
            dev:dma_write(dma, "into highmem")
            dma_unmap_page(dev, dma, 100, DMA_FROM_DEVICE)
            local a = kmap(page)
            local got = peek(a + 16, 12)
            kunmap(page)
            __free_pages(page, 0)
            return ok, PageHighMem(page), got
            """)
        #expect(v == [.boolean(true), .boolean(true), .string("into highmem")])
        #expect(h.reports.isEmpty)
    }
}

/// kernel/dma/swiotlb.c on x86_64 with more than 4 GiB (arch/x86/kernel/pci-dma.c
/// pci_swiotlb_detect): a 32-bit device's buffer above 4 GiB bounces.
@Suite struct SwiotlbTests {
    @Test func a32BitDeviceBouncesThroughTheBufferBelow4GiB_swiotlbMap() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{arch="x86_64", ram="8G"}
            local dev = pci_device{name="e1000", dma_mask_bits=32}
            local buf = kmalloc(2048, GFP_KERNEL)
            assert(__pa(buf) >= 0x100000000, "GFP_KERNEL comes from ZONE_NORMAL, above 4 GiB")
            poke(buf, "hello device")
            local dma = dma_map_single(dev, buf, 2048, DMA_BIDIRECTIONAL)
            assert(not dma_mapping_error(dev, dma))
            local inPool = dma >= 0x100000000 - 64 * 1024 * 1024 and dma < 0x100000000
            local seen = dev:dma_read(dma, 12)              -- copied at map time
            dev:dma_write(dma, "reply!")
            local before = peek(buf, 6)                      -- still the old bytes
            dma_sync_single_for_cpu(dev, dma, 2048, DMA_BIDIRECTIONAL)
            local after = peek(buf, 6)
            poke(buf, "again")
            dma_sync_single_for_device(dev, dma, 2048, DMA_BIDIRECTIONAL)
            local again = dev:dma_read(dma, 5)
            dev:dma_write(dma, "final")
            local used = proc("/sys/kernel/debug/swiotlb/io_tlb_used")
            dma_unmap_single(dev, dma, 2048, DMA_BIDIRECTIONAL)
            local s = stats()
            return inPool, seen, before, after, again, peek(buf, 5), used, proc("/sys/kernel/debug/swiotlb/io_tlb_used"),
                   s.swiotlb_maps, proc("/sys/kernel/debug/swiotlb/io_tlb_nslabs")
            """)
        #expect(v == [.boolean(true), .string("hello device"), .string("hello "), .string("reply!"), .string("again"),
                      .string("final"), .string("1\n"), .string("0\n"), .integer(1), .string("32768\n")])
        #expect(h.reports.isEmpty)
        #expect(h.machine.log.text.contains("software IO TLB: mapped [mem 0x00000000fc000000-0x0000000100000000] (64MB)"))
    }

    @Test func syncingAnAddressNothingMapsIsADmaApiWarning_checkSync() throws {
        let h = try KernelHarness()
        h.run("""
            boot{arch="x86_64", ram="8G"}
            local dev = pci_device{name="e1000", dma_mask_bits=32}
            dma_sync_single_for_cpu(dev, 0x1000, 64, DMA_FROM_DEVICE)
            """)
        let r = try #require(h.reports.first)
        #expect(r.kind == .dmaAPI)
        #expect(r.headline.contains("device driver tries to sync DMA memory it has not allocated [device address=0x0000000000001000] [size=64 bytes]"))
    }

    /// swiotlb_tbl_unmap_single() copies a FROM_DEVICE buffer back with
    /// swiotlb_bounce()'s memcpy, which KASAN checks: a buffer freed while
    /// still mapped is written after its free. Without a bounce the unmap
    /// touches no memory and says nothing.
    @Test func unmappingAfterTheBufferWasFreedIsAUseAfterFree_swiotlbBounce() throws {
        let h = try KernelHarness()
        h.run("""
            boot{arch="x86_64", ram="8G"}
            local dev = pci_device{name="e1000", dma_mask_bits=32}
            local buf = kmalloc(256, GFP_KERNEL)
            local dma = dma_map_single(dev, buf, 256, DMA_FROM_DEVICE)
            assert(not dma_mapping_error(dev, dma))
            kfree(buf)
            dma_unmap_single(dev, dma, 256, DMA_FROM_DEVICE)
            """)
        let r = try #require(h.reports.first)
        #expect(r.kind == .useAfterFree)
        #expect(r.lines.contains { $0.hasPrefix("Write of size 256 at addr ") })
        #expect(r.text.contains("swiotlb_bounce"))
        let direct = try KernelHarness()
        direct.run("""
            boot{arch="x86_64"}
            local dev = pci_device{name="e1000", dma_mask_bits=32}
            local buf = kmalloc(256, GFP_KERNEL)
            local dma = dma_map_single(dev, buf, 256, DMA_FROM_DEVICE)
            assert(not dma_mapping_error(dev, dma))
            kfree(buf)
            dma_unmap_single(dev, dma, 256, DMA_FROM_DEVICE)
            """)
        #expect(direct.reports.isEmpty)
    }

    @Test func noSwiotlbAt4GiBOrBelow() throws {
        let m = try Machine(config: MachineConfig(arch: .x86_64, ram: 4 << 30))
        #expect(!m.log.text.contains("software IO TLB"))
        #expect((try? m.proc("/sys/kernel/debug/swiotlb/io_tlb_nslabs")) == nil)
    }
}
