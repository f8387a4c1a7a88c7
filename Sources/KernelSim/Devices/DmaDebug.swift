/// Report text of CONFIG_DMA_API_DEBUG (kernel/dma/debug.c) and of the
/// mapping entry points (include/linux/dma-mapping.h), as pure formatting.
///
/// kernel/dma/debug.c prints through `err_printk()`: a WARN whose message is
/// `pr_fmt("%s %s: ") format` with pr_fmt "DMA-API: ", the driver name and the
/// device name: `DMA-API: e1000 0000:00:03.0: device driver ...`. By default
/// only the first error is shown (`show_num_errors = 1`); the debugfs knob
/// `all_errors` shows every one.

/// `enum dma_data_direction` (include/linux/dma-direction.h).
public enum DmaDirection: Int, CaseIterable, Sendable {
    case bidirectional = 0, toDevice = 1, fromDevice = 2, none = 3

    /// `dir2name[]` of kernel/dma/debug.c.
    public var name: String {
        switch self {
        case .bidirectional: return "DMA_BIDIRECTIONAL"
        case .toDevice: return "DMA_TO_DEVICE"
        case .fromDevice: return "DMA_FROM_DEVICE"
        case .none: return "DMA_NONE"
        }
    }
}

/// A frame a device wrote into although the mapping it was given does not
/// own it, and who does.
public struct DmaVictim: Equatable, Sendable {
    public var pfn: UInt64
    /// The frame's owner as the memory model names it (`slab kmalloc-128`,
    /// `vmalloc`, `free`, `user a.out`...).
    public var owner: String
    /// Which bytes of the device's transfer landed in it.
    public var firstByte: Int
    public var lastByte: Int
    public init(pfn: UInt64, owner: String, firstByte: Int, lastByte: Int) {
        self.pfn = pfn
        self.owner = owner
        self.firstByte = firstByte
        self.lastByte = lastByte
    }
}

public enum DmaDebug {
    /// `%016llx`, as dma-debug prints device addresses.
    static func hex16(_ v: UInt64) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 16 - h.count)) + h
    }

    /// err_printk()'s prefix.
    public static func prefix(driver: String, device: String) -> String {
        "DMA-API: \(driver) \(device): "
    }

    /// dma_map_single_attrs() (include/linux/dma-mapping.h, since 5.18):
    /// `dev_WARN_ONCE(dev, is_vmalloc_addr(ptr), "rejecting DMA map of vmalloc memory\n")`,
    /// and the mapping fails with DMA_MAPPING_ERROR.
    public static func rejectingVmalloc(driver: String, device: String) -> String {
        "\(driver) \(device): rejecting DMA map of vmalloc memory"
    }

    /// debug_dma_map_single(): `!virt_addr_valid(addr)`.
    public static func mapsInvalidArea(driver: String, device: String, address: String, length: Int) -> String {
        prefix(driver: driver, device: device) + "device driver maps memory from invalid area [addr=\(address)] [len=\(length)]"
    }

    /// debug_dma_map_single(): `is_vmalloc_addr(addr)`.
    public static func mapsVmallocArea(driver: String, device: String, address: String, length: Int) -> String {
        prefix(driver: driver, device: device) + "device driver maps memory from vmalloc area [addr=\(address)] [len=\(length)]"
    }

    /// check_for_stack(): a direct-mapped stack (x86_32) is named exactly,
    /// a vmapped stack (CONFIG_VMAP_STACK, x86_64) only probably.
    public static func mapsStack(driver: String, device: String, address: String, vmapStack: Bool) -> String {
        prefix(driver: driver, device: device)
            + (vmapStack ? "device driver maps memory from stack [probable addr=\(address)]"
                         : "device driver maps memory from stack [addr=\(address)]")
    }

    /// check_unmap(): no such mapping.
    public static func freesUnallocated(driver: String, device: String, dmaAddress: UInt64, size: Int) -> String {
        prefix(driver: driver, device: device)
            + "device driver tries to free DMA memory it has not allocated [device address=0x\(hex16(dmaAddress))] [size=\(size) bytes]"
    }

    /// check_sync(): no mapping covers the address.
    public static func syncUnallocated(driver: String, device: String, dmaAddress: UInt64, size: Int) -> String {
        prefix(driver: driver, device: device)
            + "device driver tries to sync DMA memory it has not allocated [device address=0x\(hex16(dmaAddress))] [size=\(size) bytes]"
    }

    /// check_sync(): a direction the mapping was not made with.
    public static func syncDifferentDirection(driver: String, device: String, dmaAddress: UInt64, size: Int,
                                              mapped: DmaDirection, synced: DmaDirection) -> String {
        prefix(driver: driver, device: device)
            + "device driver syncs DMA memory with different direction [device address=0x\(hex16(dmaAddress))] [size=\(size) bytes] [mapped with \(mapped.name)] [synced with \(synced.name)]"
    }

    /// check_unmap(): size differs from the mapping's.
    public static func freesDifferentSize(driver: String, device: String, dmaAddress: UInt64, mapSize: Int,
                                          unmapSize: Int) -> String {
        prefix(driver: driver, device: device)
            + "device driver frees DMA memory with different size [device address=0x\(hex16(dmaAddress))] [map size=\(mapSize) bytes] [unmap size=\(unmapSize) bytes]"
    }

    /// check_unmap(): direction differs from the mapping's.
    public static func freesDifferentDirection(driver: String, device: String, dmaAddress: UInt64, size: Int,
                                               mapped: DmaDirection, unmapped: DmaDirection) -> String {
        prefix(driver: driver, device: device)
            + "device driver frees DMA memory with different direction [device address=0x\(hex16(dmaAddress))] [size=\(size) bytes] [mapped with \(mapped.name)] [unmapped with \(unmapped.name)]"
    }

    /// check_unmap(): a scatter-gather list unmapped with another `nents`
    /// than it was mapped with.
    public static func freesSgWithDifferentCount(driver: String, device: String, dmaAddress: UInt64,
                                                 mapCount: Int, unmapCount: Int) -> String {
        prefix(driver: driver, device: device)
            + "device driver frees DMA sg list with different entry count [map count=\(mapCount)] [unmap count=\(unmapCount)]"
    }

    /// check_unmap(): unmapping with the wrong function (`single` vs `coherent`...).
    public static func freesWithWrongFunction(driver: String, device: String, dmaAddress: UInt64, size: Int,
                                              mappedAs: String, unmappedAs: String) -> String {
        prefix(driver: driver, device: device)
            + "device driver frees DMA memory with wrong function [device address=0x\(hex16(dmaAddress))] [size=\(size) bytes] [mapped as \(mappedAs)] [unmapped as \(unmappedAs)]"
    }

    /// check_unmap(): dma_mapping_error() was never called on the handle.
    public static func failedToCheckMapError(driver: String, device: String, dmaAddress: UInt64, size: Int,
                                             mappedAs: String) -> String {
        prefix(driver: driver, device: device)
            + "device driver failed to check map error[device address=0x\(hex16(dmaAddress))] [size=\(size) bytes] [mapped as \(mappedAs)]"
    }

    /// kmlab's own check, in dma-debug's style: a real kernel cannot see what
    /// a bus master writes (only an IOMMU could stop it). The simulated debug
    /// kernel compares the frames a device transfer touched with the frames
    /// the mapping owns and names the owners of the others.
    public static func victimFrames(driver: String, device: String, dmaAddress: UInt64, mapSize: Int,
                                    transferSize: Int, write: Bool, victims: [DmaVictim]) -> [String] {
        var lines = [prefix(driver: driver, device: device)
            + "device \(write ? "wrote to" : "read from") frames its mapping does not own [device address=0x\(hex16(dmaAddress))] [map size=\(mapSize) bytes] [transfer size=\(transferSize) bytes]"]
        for v in victims {
            lines.append("DMA-API: victim pfn 0x\(String(v.pfn, radix: 16)) [bytes \(v.firstByte)-\(v.lastByte) of the transfer] owned by \(v.owner)")
        }
        return lines
    }
}

extension Machine {
    /// An err_printk() WARN of kernel/dma/debug.c, ready to `raise`.
    public func dmaApiWarning(_ message: String, function: String, line: Int,
                              kind: KernelReport.Kind = .dmaAPI, address: UInt64? = nil, size: Int? = nil,
                              fields: [String: String] = [:]) -> KernelReport {
        var r = warnReport(message: message, file: "kernel/dma/debug.c", line: line, function: function,
                           kind: kind, fields: fields)
        r.address = address
        r.size = size
        if let note = anachronism("DMA-API debugging", since: "2.6.30") { r.lines.append(note) }
        return r
    }

    /// On an era 2.6 machine, a line saying that the debug facility whose
    /// report precedes it did not exist in 2.6.18 (kmlab keeps it, as the
    /// design allows, so that the old kernel's bugs can still be seen).
    func anachronism(_ facility: String, since release: String) -> String? {
        guard config.era == .v2_6 else { return nil }
        return "kmlab: \(facility) came in Linux \(release); a 2.6.18 kernel would have printed nothing here"
    }
}
