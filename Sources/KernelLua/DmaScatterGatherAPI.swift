import CLua
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
            let L = call.L
            let length = Int(lua_rawlen(L, 2))
            guard nents >= 1, nents <= length, nents <= 65536 else {
                throw call.error("nents must be between 1 and #sgl (\(length)), got \(nents)")
            }
            var entries: [SgEntry] = []
            entries.reserveCapacity(nents)
            for i in 1...nents {
                guard lua_rawgeti(L, 2, lua_Integer(i)) == LUA_TTABLE else {
                    kmlab_pop(L, 1)
                    throw call.error("sgl[\(i)] must be a table {page = ..., offset = ..., length = ...}")
                }
                _ = call.rawField(-1, "page")
                let pfn = PageValue.pfn(in: call, at: -1)
                kmlab_pop(L, 1)
                guard let pfn else {
                    kmlab_pop(L, 1)
                    throw call.error("sgl[\(i)].page must be a page (from alloc_pages, virt_to_page or vmalloc_to_page)")
                }
                var offset: Int64 = 0
                let offsetType = call.rawField(-1, "offset")
                if offsetType != LUA_TNIL {
                    guard lua_isinteger(L, -1) != 0 else {
                        kmlab_pop(L, 2)
                        throw call.error("sgl[\(i)].offset must be an integer")
                    }
                    offset = lua_tointegerx(L, -1, nil)
                }
                kmlab_pop(L, 1)
                guard call.rawField(-1, "length") != LUA_TNIL, lua_isinteger(L, -1) != 0 else {
                    kmlab_pop(L, 2)
                    throw call.error("sgl[\(i)].length must be an integer (bytes)")
                }
                let len = lua_tointegerx(L, -1, nil)
                kmlab_pop(L, 2)
                entries.append(SgEntry(pfn: pfn, offset: Int(clamping: offset), length: Int(clamping: len)))
            }
            let segments = try env.machine.dmaMapSg(dev, entries, direction: Int(clamping: dir))
            // __finalise_sg(): the first `count` entries hold the segments,
            // the rest DMA_MAPPING_ERROR and 0.
            for i in 1...nents {
                guard lua_rawgeti(L, 2, lua_Integer(i)) == LUA_TTABLE else { kmlab_pop(L, 1); continue }
                let seg = i <= segments.count ? segments[i - 1] : nil
                lua_pushstring(L, "dma_address")
                lua_pushinteger(L, lua_Integer(bitPattern: seg?.dmaAddress ?? env.machine.dmaMappingError))
                lua_rawset(L, -3)
                lua_pushstring(L, "dma_length")
                lua_pushinteger(L, lua_Integer(seg?.length ?? 0))
                lua_rawset(L, -3)
                kmlab_pop(L, 1)
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
            let L = call.L
            guard lua_rawgeti(L, 2, 1) == LUA_TTABLE else {
                kmlab_pop(L, 1)
                throw call.error("sgl[1] must be a table mapped by dma_map_sg")
            }
            guard call.rawField(-1, "dma_address") != LUA_TNIL, lua_isinteger(L, -1) != 0 else {
                kmlab_pop(L, 2)
                throw call.error("sgl[1] has no dma_address: map the list with dma_map_sg first")
            }
            let first = UInt64(bitPattern: lua_tointegerx(L, -1, nil))
            kmlab_pop(L, 2)
            try env.machine.dmaUnmapSg(dev, firstDma: first, nents: nents, direction: Int(clamping: dir))
            return 0
        }
    }
}
