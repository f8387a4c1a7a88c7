/// `/sys/kernel/debug/dma-api/dump`: every DMA mapping dma-debug still
/// tracks (kernel/dma/debug.c, dump_show()), one line each:
///
///     kmnic 0000:00:03.0 single idx 2 P=0x01a2b000 D=1a2b000 L=800 cln=0x0068ac0 DMA_FROM_DEVICE dma map error checked
///
/// It is how one checks, on a real machine, that a driver undid every
/// mapping when it was removed. The format is 6.x's before the `attrs=`
/// field that recent kernels append; the file does not exist on 2.6.
extension Machine {
    /// dma-debug's hash: HASH_SIZE 16384 buckets, HASH_FN_SHIFT 13.
    static func dmaDebugBucket(_ dmaAddress: UInt64) -> UInt64 { (dmaAddress >> 13) & (16384 - 1) }

    func dmaDebugDump() -> String {
        // %pa prints a phys_addr_t: 32 bits on x86_32 without PAE, 64 on x86_64.
        let digits = contexts.pointerBits / 4
        func pa(_ v: UInt64) -> String {
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, digits - h.count)) + h
        }
        var entries: [(idx: UInt64, line: String)] = []
        for dev in pciDevices {
            for m in dev.mappings {
                let idx = Machine.dmaDebugBucket(m.dmaAddress)
                // to_cacheline_number(): 64-byte lines, so the address >> 6.
                let cln = m.dmaAddress >> 6
                let check = m.kind != .single ? "dma map error check not applicable"
                    : m.errorChecked ? "dma map error checked" : "dma map error not checked"
                let line = "\(dev.driver) \(dev.busName) \(m.kind.rawValue) idx \(idx) P=\(pa(m.paddr ?? m.dmaAddress)) "
                    + "D=\(String(m.dmaAddress, radix: 16)) L=\(String(m.size, radix: 16)) cln=\(pa(cln)) "
                    + "\(m.direction.name) \(check)"
                entries.append((idx, line))
            }
        }
        // Bucket by bucket, each bucket's entries in the order they were added.
        let ordered = entries.enumerated().sorted { a, b in
            a.element.idx != b.element.idx ? a.element.idx < b.element.idx : a.offset < b.offset
        }
        return ordered.map { $0.element.line + "\n" }.joined()
    }
}
