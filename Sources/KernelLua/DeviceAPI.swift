import KernelSim
import LuaBridge

/// PCI devices and the DMA API: glue to KernelSim/Devices. A device is a
/// handle with fields name, bus, irq, dma_mask and the device-side methods
/// dma_write, dma_read and raise_irq.
enum DeviceAPI {
    static let meta = "kmlab.pci_device"
    static let topic = "Devices and DMA"

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        func device(_ call: LuaCall, _ i: Int32 = 1) throws -> PciDevice {
            try glue.object(call, i, "dev", metatable: meta, expected: "a device (from pci_device{...})", in: glue.devices)
        }
        let methods: [String: LuaFunction] = [
            "dma_write": { call in
                let dev = try device(call)
                let dma = try call.address(2, "dma_addr")
                let bytes = try call.bytes(3, "bytes")
                _ = try env.guardKernel(call) {
                    try env.machine.deviceWrite(dev, dma, bytes: bytes)
                    return 0
                }
                return 0
            },
            "dma_read": { call in
                let dev = try device(call)
                let dma = try call.address(2, "dma_addr")
                let n = try call.size(3, "n")
                return try env.guardKernel(call) {
                    call.push(bytes: try env.machine.deviceRead(dev, dma, count: n))
                    return 1
                }
            },
            "raise_irq": { call in
                let dev = try device(call)
                return try env.guardKernel(call) {
                    call.push(IrqAPI.name(try env.machine.deviceRaiseIrq(dev)))
                    return 1
                }
            },
        ]
        var methodNames: [String: String] = [:]
        for name in methods.keys { methodNames[name] = "dev:\(name)" }
        glue.makeHandleMetatable(meta, typeName: "struct pci_dev", tostring: { call, h in
            guard h.generation == glue.generation, h.id >= 0, h.id < Int64(glue.devices.count) else {
                return "pci_device{stale: from before boot{}}"
            }
            let d = glue.devices[Int(h.id)]
            return "pci_device{name=\(d.driver), bus=\(d.busName), irq=\(d.irq.map(String.init) ?? "none"), dma_mask=0x\(String(d.dmaMask, radix: 16))"
                + (d.iommu != nil ? ", iommu=true}" : "}")
        }, index: { call in
            guard call.kind(2) == .string, let key = try? call.string(2, "field") else { call.pushNil(); return 1 }
            if let m = methods[key] {
                env.lua.pushFunction(on: call.L, named: methodNames[key] ?? key, m)
                return 1
            }
            guard let d = try? device(call) else { call.pushNil(); return 1 }
            switch key {
            case "name": call.push(d.driver)
            case "bus": call.push(d.busName)
            case "irq": if let i = d.irq { call.push(i) } else { call.pushNil() }
            case "dma_mask": call.push(Int64(bitPattern: d.dmaMask))
            case "iommu": call.push(d.iommu != nil)
            default: call.pushNil()
            }
            return 1
        })
        for (name, summary) in [
            ("dma_write", "The device writes the bytes of a string to bus address dma_addr, contiguously through physical memory like a real bus master: no MMU, no bounds. Bytes landing outside the frames of the device's mapping corrupt whatever is there; the debug kernel then names the victim frames' owners."),
            ("dma_read", "The device reads n bytes from bus address dma_addr, contiguously through physical memory; returns them as a string."),
            ("raise_irq", "The device asserts its interrupt line (pci_device's irq=): as raise_irq(dev.irq)."),
        ] {
            env.document("dev:\(name)", APIDoc(topic: topic, signature: name == "dma_write" ? "dev:dma_write(dma_addr, bytes)" : name == "dma_read" ? "dev:dma_read(dma_addr, n) -> string" : "dev:raise_irq()",
                                               summary: summary, kernel: "the device side of DMA (no kernel function)"))
        }

        env.define("pci_device", doc: APIDoc(topic: topic, signature: "pci_device{name=..., irq=..., dma_mask_bits=..., iommu=...} -> dev",
            summary: "A PCI device bound to a driver called name, on the next slot (0000:00:03.0, 04.0...). irq is its interrupt line (optional); dma_mask_bits (default 32) is how many address bits it can drive on the bus: 24 for an old ISA-style device, which then needs ZONE_DMA memory (GFP_DMA); 64 for a modern one. Without iommu (the default) there is no IOMMU: a DMA address is a physical address and the device reaches any frame. With iommu = true (era 6.x) the device sits behind an Intel VT-d IOMMU: dma_map_single, dma_map_page, dma_map_sg and dma_alloc_coherent return I/O virtual addresses (from 0xfffff000 down, below the mask), a scatter-gather list over scattered frames gets one contiguous range, and the device's transfers are translated page by page: one that reaches an address nothing maps (or maps only for the other direction) is blocked with a DMAR fault report. dev.iommu says which.",
            failure: "an error for a missing name, a line out of range, a mask dma_set_mask refuses (below 24 bits), or iommu on era 2.6",
            kernel: "include/linux/pci.h struct pci_dev, kernel/dma/mapping.c dma_set_mask(), drivers/iommu/dma-iommu.c")) { call in
            try call.checkTable(1, "spec")
            let nameValue = call.rawFieldValue(1, "name")
            guard let name = nameValue.text else {
                throw call.error("name must be a string (the driver's name), got \(nameValue.typeName)")
            }
            var irq: Int?
            switch call.rawFieldValue(1, "irq") {
            case .nil: break
            case .integer(let line): irq = Int(clamping: line)
            default: throw call.error("irq must be an interrupt line number")
            }
            var bits = 32
            switch call.rawFieldValue(1, "dma_mask_bits") {
            case .nil: break
            case .integer(let b): bits = Int(clamping: b)
            default: throw call.error("dma_mask_bits must be an integer between 24 and 64")
            }
            let iommu: Bool
            switch call.rawFieldValue(1, "iommu") {
            case .nil: iommu = false
            case .boolean(let on): iommu = on
            default: throw call.error("iommu must be true or false")
            }
            do {
                let dev = try env.machine.pciDevice(driver: name, irq: irq, dmaMaskBits: bits, iommu: iommu)
                glue.devices.append(dev)
                HandleValue.push(HandleValue(id: Int64(glue.devices.count - 1), generation: glue.generation),
                                 metatable: meta, on: call)
            } catch let e as DeviceError {
                throw call.error(e.description)
            }
            return 1
        }
        for (name, dir) in [("DMA_BIDIRECTIONAL", DmaDirection.bidirectional), ("DMA_TO_DEVICE", .toDevice),
                            ("DMA_FROM_DEVICE", .fromDevice), ("DMA_NONE", DmaDirection.none)] {
            env.constant(name, Int64(dir.rawValue), doc: APIDoc(topic: topic, signature: "\(name) = \(dir.rawValue)",
                summary: "A DMA direction (include/linux/dma-direction.h): TO_DEVICE for data the device reads, FROM_DEVICE for data it writes, BIDIRECTIONAL for both. Unmap with the direction you mapped with. DMA_NONE is only for debugging: mapping with it is a kernel BUG.",
                kernel: "include/linux/dma-direction.h"))
        }
        env.define("DMA_BIT_MASK", doc: APIDoc(topic: topic, signature: "DMA_BIT_MASK(n) -> mask",
            summary: "The mask of an n-bit DMA address: (1 << n) - 1, or all ones for 64 (-1 as a Lua integer).",
            kernel: "include/linux/dma-mapping.h DMA_BIT_MASK()")) { call in
            let n = try call.integer(1, "n", expected: "a number of bits 0..64")
            guard (0...64).contains(n) else { throw call.argumentError(1, "n", "a number of bits 0..64") }
            call.push(Int64(bitPattern: Machine.dmaBitMask(Int(n))))
            return 1
        }
        env.define("dma_map_single", doc: APIDoc(topic: topic, signature: "dma_map_single(dev, addr, size, dir) -> dma address",
            summary: "Hands a kernel buffer to the device: returns the bus address to program into it (here the physical address). The buffer must be physically contiguous and in the direct map: kmalloc memory is, vmalloc memory is not (6.x refuses it with \"rejecting DMA map of vmalloc memory\"; era 2.6 returns virt_to_phys(addr), the address of a frame that is not the buffer's, and kmlab's dma-debug, which 2.6.18 did not have, warns), and the device's mask must reach it. Check the result with dma_mapping_error, and dma_unmap_single it with the same size and direction. For a device with iommu = true the result is an I/O virtual address the IOMMU maps to the buffer's pages (the mask limits that address, not the buffer), and the mapping ends at unmap: the device can no longer reach the buffer; a vmalloc buffer is refused all the same.",
            failure: "DMA_MAPPING_ERROR (test it with dma_mapping_error)", kernel: "include/linux/dma-mapping.h dma_map_single()")) { call in
            let dev = try device(call)
            let addr = try call.address(2, "addr")
            let size = try call.size(3)
            let dir = try call.integer(4, "dir", expected: "DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL")
            call.push(address: try env.machine.dmaMapSingle(dev, addr, size: size, direction: Int(clamping: dir)))
            return 1
        }
        env.define("dma_map_page", doc: APIDoc(topic: topic, signature: "dma_map_page(dev, page, offset, size, dir) -> dma address",
            summary: "Hands size bytes starting offset bytes into a page frame to the device: the way to DMA into highmem pages, which have no kernel address. The range is physically contiguous from the page on: a page from vmalloc_to_page is a single order-0 page, so mapping more than PAGE_SIZE of a vmalloc buffer this way lets the device write into whatever frames follow (the debug kernel names them when it does). Unmap with dma_unmap_page. With iommu = true the range gets an I/O virtual address, but the IOMMU maps the physically contiguous frames from the page on, as the kernel does: mapping more than the page's own allocation still hands the device the frames after it. For a vmalloc buffer use dma_map_sg with one entry per page.",
            failure: "DMA_MAPPING_ERROR when the device's mask does not reach the page", kernel: "include/linux/dma-mapping.h dma_map_page()")) { call in
            let dev = try device(call)
            let page = try call.page(2)
            let offset = try call.size(3, "offset")
            let size = try call.size(4)
            let dir = try call.integer(5, "dir", expected: "DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL")
            call.push(address: try env.machine.dmaMapPage(dev, pfn: page.pfn, offset: offset, size: size, direction: Int(clamping: dir)))
            return 1
        }
        DmaScatterGatherAPI.install(into: env, topic: topic, device: { try device($0, $1) })
        env.define("dma_unmap_page", doc: APIDoc(topic: topic, signature: "dma_unmap_page(dev, dma, size, dir)",
            summary: "Takes back a mapping made by dma_map_page (dma-debug checks it as dma_unmap_single does).",
            kernel: "include/linux/dma-mapping.h dma_unmap_page()")) { call in
            let dev = try device(call)
            let dma = try call.address(2, "dma")
            let size = try call.size(3)
            let dir = try call.integer(4, "dir", expected: "the direction given to dma_map_page")
            try env.machine.dmaUnmapSingle(dev, dma, size: size, direction: Int(clamping: dir))
            return 0
        }
        for (name, forDevice) in [("dma_sync_single_for_cpu", false), ("dma_sync_single_for_device", true)] {
            let summary = forDevice
                ? "Gives a streaming mapping back to the device after the CPU has written the buffer: with SWIOTLB (x86_64 with more than 4 GiB, a device whose mask cannot reach the buffer) this copies the buffer into the bounce buffer for DMA_TO_DEVICE and DMA_BIDIRECTIONAL; on a direct mapping x86 has nothing to do. dma-debug checks that the address is mapped and the direction matches."
                : "Lets the CPU look at a streaming mapping the device has written, without unmapping it: with SWIOTLB (x86_64 with more than 4 GiB, a device whose mask cannot reach the buffer) this copies the bounce buffer back into the buffer for DMA_FROM_DEVICE and DMA_BIDIRECTIONAL; until then the buffer does not hold what the device wrote. On a direct mapping x86 has nothing to do. dma-debug checks that the address is mapped and the direction matches."
            env.define(name, doc: APIDoc(topic: topic, signature: "\(name)(dev, dma, size, dir)", summary: summary,
                failure: "a DMA-API warning for an address no mapping covers; a kernel BUG for an invalid direction",
                kernel: "include/linux/dma-mapping.h \(name)(), kernel/dma/swiotlb.c")) { call in
                let dev = try device(call)
                let dma = try call.address(2, "dma")
                let size = try call.size(3)
                let dir = try call.integer(4, "dir", expected: "DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL")
                try env.machine.dmaSyncSingle(dev, dma, size: size, direction: Int(clamping: dir), forDevice: forDevice)
                return 0
            }
        }
        env.define("dma_mapping_error", doc: APIDoc(topic: topic, signature: "dma_mapping_error(dev, dma) -> boolean",
            summary: "Whether dma_map_single failed. Drivers must check: dma-debug warns at unmap time about a mapping whose error was never checked.",
            kernel: "include/linux/dma-mapping.h dma_mapping_error()")) { call in
            let dev = try device(call)
            call.push(env.machine.dmaMappingErrorCheck(dev, try call.address(2, "dma")))
            return 1
        }
        env.constant("DMA_MAPPING_ERROR", Int64(bitPattern: env.layout.pointerSize == 8 ? UInt64.max : 0xffff_ffff), doc: APIDoc(topic: topic,
            signature: "DMA_MAPPING_ERROR", summary: "What a failed dma_map_single returns: all ones in a dma_addr_t (0xffffffff on x86_32). Prefer dma_mapping_error(dev, dma).",
            kernel: "include/linux/dma-mapping.h"))
        env.onMachineReplaced { [unowned env] m in
            env.lua.setGlobal("DMA_MAPPING_ERROR", .integer(Int64(bitPattern: m.dmaMappingError)))
        }
        env.define("dma_unmap_single", doc: APIDoc(topic: topic, signature: "dma_unmap_single(dev, dma, size, dir)",
            summary: "Takes the buffer back from the device. dma-debug checks the call against the mapping: unknown address, different size, different direction, wrong function, or an error never checked are warnings (only the first DMA-API error is shown, as the kernel's default).",
            kernel: "include/linux/dma-mapping.h dma_unmap_single()")) { call in
            let dev = try device(call)
            let dma = try call.address(2, "dma")
            let size = try call.size(3)
            let dir = try call.integer(4, "dir", expected: "the direction given to dma_map_single")
            try env.machine.dmaUnmapSingle(dev, dma, size: size, direction: Int(clamping: dir))
            return 0
        }
        env.define("dma_alloc_coherent", doc: APIDoc(topic: topic, signature: "dma_alloc_coherent(dev, size, flags) -> cpu address, dma address | nil",
            summary: "Allocates a zeroed, physically contiguous buffer that the CPU and the device share for as long as the driver runs (a descriptor ring): returns its kernel address AND its bus address. The zone follows the device's mask: a 24-bit mask gets ZONE_DMA (below 16 MiB). flags is GFP_KERNEL in probe, GFP_ATOMIC in atomic context.",
            context: MemoryAPI.sleeps, failure: "nil", kernel: "kernel/dma/mapping.c dma_alloc_attrs(), kernel/dma/direct.c")) { call in
            let dev = try device(call)
            let size = try call.size(2)
            guard let r = try env.machine.dmaAllocCoherent(dev, size: size, flags: try call.gfp(3, era: env.machine.config.era)) else {
                call.pushNil()
                return 1
            }
            call.push(address: r.cpu)
            call.push(address: r.dma)
            return 2
        }
        env.define("dma_free_coherent", doc: APIDoc(topic: topic, signature: "dma_free_coherent(dev, size, cpu, dma)",
            summary: "Frees a buffer from dma_alloc_coherent (same size, both addresses).",
            context: "process context", kernel: "kernel/dma/mapping.c dma_free_attrs()")) { call in
            let dev = try device(call)
            let size = try call.size(2)
            let cpu = try call.address(3, "cpu")
            try env.machine.dmaFreeCoherent(dev, size: size, cpu: cpu, dma: try call.address(4, "dma"))
            return 0
        }
    }
}
