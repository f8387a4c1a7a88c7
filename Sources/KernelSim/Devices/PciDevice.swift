/// A PCI device that can master the bus (DMA) and raise an interrupt line.
///
/// Without an IOMMU a bus (DMA) address is the physical address (x86
/// dma-direct, kernel/dma/direct.c) and the device reaches only addresses
/// its DMA mask covers. With one (`iommu`), DMA addresses are I/O virtual
/// addresses the IOMMU translates page by page (drivers/iommu/dma-iommu.c,
/// IommuDma.swift). `dma-debug` (CONFIG_DMA_API_DEBUG) keeps every mapping
/// the driver made (`mappings`), which is also how the simulated debug
/// kernel can tell which frames a device transfer had a right to touch.
public final class PciDevice {
    /// The driver's name (`dev_driver_string`), e.g. "e1000".
    public let driver: String
    /// The device's name (`dev_name`): its PCI address, "0000:00:03.0".
    public let busName: String
    /// The interrupt line it raises, if any.
    public let irq: Int?
    /// `*dev->dma_mask` (= the coherent mask here).
    public let dmaMask: UInt64
    public internal(set) var mappings: [DmaMapping] = []
    /// The device's IOMMU DMA domain, or nil for dma-direct.
    public let iommu: IovaDomain?
    /// Scatter-gather lists mapped and not yet unmapped.
    var sgLists: [SgList] = []
    var nextSgListID = 0

    init(driver: String, busName: String, irq: Int?, dmaMask: UInt64, iommu: Bool = false) {
        self.driver = driver
        self.busName = busName
        self.irq = irq
        self.dmaMask = dmaMask
        self.iommu = iommu ? IovaDomain() : nil
    }
}

/// One entry of dma-debug's hash of mappings (`struct dma_debug_entry`).
public struct DmaMapping: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case single, coherent
        /// type2name[dma_debug_sg] in kernel/dma/debug.c, spelling included.
        case scatterGather = "scather-gather"
    }
    public var kind: Kind
    public var dmaAddress: UInt64
    public var size: Int
    public var direction: DmaDirection
    /// The kernel virtual address the driver mapped (or dma_alloc_coherent returned).
    public var cpuAddress: UInt64
    /// The frames the CPU buffer really occupies: a device may touch these.
    public var ownedPfns: Set<UInt64>
    /// `map_err_type`: whether the driver called dma_mapping_error().
    public var errorChecked: Bool
    /// The buffer's physical address when it differs from the DMA address
    /// (an IOMMU or SWIOTLB mapping): dma-debug's `paddr`.
    public var paddr: UInt64? = nil
    /// IOVA pages this mapping holds in the device's IOMMU domain (0 without one).
    public var iovaPages: Int = 0
    /// The scatter-gather list this entry belongs to.
    public var sgList: Int? = nil
}

/// Why a device could not be created.
public struct DeviceError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

extension Machine {
    /// DMA_MAPPING_ERROR: `~(dma_addr_t)0`, 32 bits wide on x86_32 without PAE.
    public var dmaMappingError: UInt64 { contexts.pointerBits == 64 ? UInt64.max : 0xffff_ffff }

    /// `DMA_BIT_MASK(n)`.
    public static func dmaBitMask(_ n: Int) -> UInt64 { n >= 64 ? UInt64.max : (1 << UInt64(max(0, n))) - 1 }

    /// The PCI devices probed so far.
    public var pciDevices: [PciDevice] { contexts.pciDevices }

    /// Probes a device: it gets the next PCI slot (0000:00:03.0, 04.0...)
    /// and its DMA mask, which `dma_set_mask` refuses (-EIO) below 24 bits:
    /// no memory zone lies that low (kernel/dma/direct.c dma_direct_supported).
    /// `iommu` puts it behind an Intel VT-d IOMMU (6.x only: intel-iommu
    /// arrived in 2.6.24).
    public func pciDevice(driver: String, irq: Int?, dmaMaskBits: Int, iommu: Bool = false) throws -> PciDevice {
        guard !driver.isEmpty, driver.count <= 32 else {
            throw DeviceError("name must be a driver name of 1 to 32 characters")
        }
        guard (1...64).contains(dmaMaskBits) else {
            throw DeviceError("dma_mask_bits must be between 1 and 64, got \(dmaMaskBits)")
        }
        guard dmaMaskBits >= 24 else {
            throw DeviceError("dma_mask_bits \(dmaMaskBits) is not supported: dma_set_mask() returns -EIO (ZONE_DMA, the lowest zone, needs a 24-bit mask)")
        }
        if let irq, irq < 0 || irq >= contexts.nrIrqs {
            throw DeviceError("irq must be an interrupt line 0..\(contexts.nrIrqs - 1), got \(irq)")
        }
        if iommu, config.era != .v6 {
            throw DeviceError("iommu = true needs era 6.x: 2.6.18 has no IOMMU DMA layer (intel-iommu arrived in 2.6.24)")
        }
        guard contexts.pciDevices.count < 29 else { throw DeviceError("the PCI bus has no free slot left (29 devices)") }
        let slot = 3 + contexts.pciDevices.count
        let hexSlot = String(slot, radix: 16)
        let bus = "0000:00:" + (hexSlot.count < 2 ? "0" + hexSlot : hexSlot) + ".0"
        let dev = PciDevice(driver: driver, busName: bus, irq: irq, dmaMask: Machine.dmaBitMask(dmaMaskBits), iommu: iommu)
        contexts.pciDevices.append(dev)
        return dev
    }

    /// dma-debug's `err_printk()`: counts every error, shows the first
    /// (`show_num_errors` = 1) as a WARN.
    func dmaDebugError(_ dev: PciDevice, _ message: String, function: String, line: Int,
                       address: UInt64? = nil, size: Int? = nil, fields: [String: String] = [:]) {
        contexts.dmaDebugErrorCount += 1
        guard contexts.dmaDebugErrorsLeft > 0 else { return }
        contexts.dmaDebugErrorsLeft -= 1
        var f = fields
        f["device"] = dev.busName
        f["driver"] = dev.driver
        raise(dmaApiWarning(message, function: function, line: line, address: address, size: size, fields: f))
    }
}
