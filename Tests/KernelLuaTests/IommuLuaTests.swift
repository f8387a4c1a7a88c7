import Testing
import KernelSim
import LuaBridge

/// pci_device{iommu = true} and dma_map_sg/dma_unmap_sg from Lua
/// (drivers/iommu/dma-iommu.c iommu_dma_map_sg, kernel/dma/direct.c).
@Suite struct IommuLuaTests {
    @Test func aVmallocBufferMapsAsOneContiguousIovaRangeThroughTheIommu() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="nic", irq=11, iommu=true}
            local buf = vmalloc(4 * PAGE_SIZE)
            local sgl = {}
            for i = 0, 3 do
              sgl[#sgl + 1] = {page = vmalloc_to_page(buf + i * PAGE_SIZE), offset = 0, length = PAGE_SIZE}
            end
            local n = dma_map_sg(dev, sgl, #sgl, DMA_FROM_DEVICE)
            dev:dma_write(sgl[1].dma_address, string.rep("Z", 4 * PAGE_SIZE))
            local whole = peek(buf + 3 * PAGE_SIZE, 1) == "Z"
            dma_unmap_sg(dev, sgl, #sgl, DMA_FROM_DEVICE)
            vfree(buf)
            return dev.iommu, n, sgl[1].dma_address, sgl[1].dma_length, sgl[2].dma_length, whole
            """)
        #expect(v == [.boolean(true), .integer(1), .integer(0xffff_c000), .integer(16384), .integer(0), .boolean(true)])
        #expect(h.reports.isEmpty)
    }

    @Test func withoutAnIommuEveryEntryIsItsOwnSegment() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="nic"}
            local a, b = alloc_pages(GFP_KERNEL, 0), alloc_pages(GFP_KERNEL, 0)
            local sgl = {{page = a, length = 100}, {page = b, offset = 8, length = 200}}
            local n = dma_map_sg(dev, sgl, 2, DMA_TO_DEVICE)
            local ok = sgl[1].dma_address == page_to_phys(a) and sgl[2].dma_address == page_to_phys(b) + 8
            dma_unmap_sg(dev, sgl, 2, DMA_TO_DEVICE)
            return dev.iommu, n, ok, sgl[2].dma_length
            """)
        #expect(v == [.boolean(false), .integer(2), .boolean(true), .integer(200)])
        #expect(h.reports.isEmpty)
    }

    @Test func aDeviceUsingAnUnmappedAddressIsBlocked() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local dev = pci_device{name="nic", iommu=true}
            local buf = kmalloc(512, GFP_KERNEL)
            local dma = dma_map_single(dev, buf, 512, DMA_FROM_DEVICE)
            dma_mapping_error(dev, dma)
            dma_unmap_single(dev, dma, 512, DMA_FROM_DEVICE)
            poke(buf, "old")
            dev:dma_write(dma, "new")
            return peek(buf, 3)
            """)
        #expect(v == [.string("old")])
        #expect(h.reports.map(\.kind) == [.dmarFault])
    }

    @Test func badScatterListsAreClearErrors() throws {
        let h = try KernelHarness()
        let setup = "local dev = pci_device{name='nic', iommu=true}; local p = alloc_pages(GFP_KERNEL, 0)\n"
        #expect(h.errorMessage(setup + "dma_map_sg(dev, {{page = p, length = 10}, 7}, 2, DMA_TO_DEVICE)")?
            .contains("dma_map_sg: sgl[2] must be a table") == true)
        #expect(h.errorMessage(setup + "dma_map_sg(dev, {{page = 5, length = 10}}, 1, DMA_TO_DEVICE)")?
            .contains("sgl[1].page must be a page") == true)
        #expect(h.errorMessage(setup + "dma_map_sg(dev, {{page = p}}, 1, DMA_TO_DEVICE)")?
            .contains("sgl[1].length must be an integer") == true)
        #expect(h.errorMessage(setup + "dma_map_sg(dev, {{page = p, length = 10}}, 2, DMA_TO_DEVICE)")?
            .contains("nents must be between 1 and #sgl (1), got 2") == true)
        #expect(h.errorMessage(setup + "dma_map_sg(dev, {{page = p, offset = 4096, length = 10}}, 1, DMA_TO_DEVICE)")?
            .contains("offset must be within the page") == true)
        #expect(h.errorMessage(setup + "dma_unmap_sg(dev, {{page = p, length = 10}}, 1, DMA_TO_DEVICE)")?
            .contains("sgl[1] has no dma_address") == true)
        #expect(h.errorMessage("pci_device{name='nic', iommu=1}")?.contains("iommu must be true or false") == true)
        #expect(h.errorMessage("boot{era='2.6'}; pci_device{name='nic', iommu=true}")?.contains("needs era 6.x") == true)
    }
}
