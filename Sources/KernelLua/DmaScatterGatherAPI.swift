import KernelSim
import LuaBridge

/// `dma_map_sg` / `dma_unmap_sg`: a scatterlist is a Lua array of entries
/// `{page = page, offset = n, length = n}` (what sg_set_page fills in);
/// mapping writes each DMA segment's `dma_address` and `dma_length` into
/// the first entries, as sg_dma_address()/sg_dma_len() hold them.
enum DmaScatterGatherAPI {
    static func install(into env: KernelEnvironment, topic: String,
                        device: @escaping (LuaCall, Int32) throws -> PciDevice) {
        let dirExpected = "DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL"
        env.define("dma_map_sg", doc: APIDoc(topic: topic, signature: "dma_map_sg(dev, sgl, nents, dir) -> count",
            summary: "Hands a scatter-gather list to the device: sgl is an array of entries {page = page, offset = n, length = n} (pages from alloc_pages, virt_to_page or vmalloc_to_page; offset within the page), nents how many of them to map. Returns how many DMA segments it made and sets dma_address and dma_length in sgl[1] .. sgl[count]: program those into the device. Without an IOMMU every entry is its own segment at its physical address. With pci_device{iommu = true} the whole list gets one contiguous range of I/O virtual addresses over the scattered frames, and entries that meet on page boundaries merge into segments of up to 64 KiB (so count can be smaller than nents). Unmap with dma_unmap_sg and the same nents.",
            failure: "0 when the list cannot be mapped (the device's mask does not reach a page, no I/O virtual address space left)",
            kernel: "include/linux/dma-mapping.h dma_map_sg(), kernel/dma/direct.c dma_direct_map_sg(), drivers/iommu/dma-iommu.c iommu_dma_map_sg()")) { call in
            let dev = try device(call, 1)
            try call.checkTable(2, "sgl")
            let nents = try call.count(3, "nents")
            let dir = try call.integer(4, "dir", expected: dirExpected)
            let length = call.rawLength(2)
            guard nents >= 1, nents <= length, nents <= 65536 else {
                throw call.error("nents must be between 1 and #sgl (\(length)), got \(nents)")
            }
            var entries: [SgEntry] = []
            entries.reserveCapacity(nents)
            for i in 1...nents {
                entries.append(try call.withRawElement(2, Int64(i)) { entry in
                    guard call.kind(entry) == .table else {
                        throw call.error("sgl[\(i)] must be a table {page = ..., offset = ..., length = ...}")
                    }
                    guard let pfn = call.withRawField(entry, "page", { PageValue.pfn(in: call, at: $0) }) else {
                        throw call.error("sgl[\(i)].page must be a page (from alloc_pages, virt_to_page or vmalloc_to_page)")
                    }
                    var offset: Int64 = 0
                    switch call.rawFieldValue(entry, "offset") {
                    case .nil: break
                    case .integer(let o): offset = o
                    default: throw call.error("sgl[\(i)].offset must be an integer")
                    }
                    guard case .integer(let len) = call.rawFieldValue(entry, "length") else {
                        throw call.error("sgl[\(i)].length must be an integer (bytes)")
                    }
                    return SgEntry(pfn: pfn, offset: Int(clamping: offset), length: Int(clamping: len))
                })
            }
            let segments = try env.machine.dmaMapSg(dev, entries, direction: Int(clamping: dir))
            // __finalise_sg(): the first `count` entries hold the segments,
            // the rest DMA_MAPPING_ERROR and 0.
            for i in 1...nents {
                let seg = i <= segments.count ? segments[i - 1] : nil
                call.withRawElement(2, Int64(i)) { entry in
                    call.updateTable(entry) { t in
                        t.set("dma_address", Int64(bitPattern: seg?.dmaAddress ?? env.machine.dmaMappingError))
                        t.set("dma_length", Int64(seg?.length ?? 0))
                    }
                }
            }
            call.push(segments.count)
            return 1
        }
        env.define("dma_unmap_sg", doc: APIDoc(topic: topic, signature: "dma_unmap_sg(dev, sgl, nents, dir)",
            summary: "Takes back a list mapped by dma_map_sg: pass the same sgl, the nents you gave dma_map_sg (not the count it returned) and the same direction; dma-debug warns about a different entry count or direction. Through an IOMMU the whole I/O virtual range is unmapped: the device can no longer reach the pages.",
            kernel: "include/linux/dma-mapping.h dma_unmap_sg()")) { call in
            let dev = try device(call, 1)
            try call.checkTable(2, "sgl")
            let nents = try call.count(3, "nents")
            let dir = try call.integer(4, "dir", expected: "the direction given to dma_map_sg")
            let first: UInt64 = try call.withRawElement(2, 1) { entry in
                guard call.kind(entry) == .table else {
                    throw call.error("sgl[1] must be a table mapped by dma_map_sg")
                }
                guard case .integer(let address) = call.rawFieldValue(entry, "dma_address") else {
                    throw call.error("sgl[1] has no dma_address: map the list with dma_map_sg first")
                }
                return UInt64(bitPattern: address)
            }
            try env.machine.dmaUnmapSg(dev, firstDma: first, nents: nents, direction: Int(clamping: dir))
            return 0
        }
    }
}
