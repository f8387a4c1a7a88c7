/// The model behind `buddyinfo()`: free blocks per zone and order (the
/// numbers of /proc/buddyinfo), drawn as bars so fragmentation shows as a
/// shape: a fresh machine's memory sits in order-10 blocks, an aged one's
/// in small orders.
public struct BuddyChart: Sendable, Equatable {
    public struct Zone: Sendable, Equatable {
        public let name: String
        /// Free blocks of order 0 ... 10.
        public let freeBlocks: [Int]
    }
    public let zones: [Zone]

    /// Free memory held in blocks of `order` (blocks × block size), in pages.
    public static func freePages(blocks: Int, order: Int) -> UInt64 {
        UInt64(max(0, blocks)) << UInt64(min(max(0, order), 62))
    }

    /// Bars of free *memory* per order (blocks × block size), scaled to the
    /// zone's largest: one free 4 MiB block weighs as much as 1024 single
    /// pages, so the large blocks a contiguous allocation needs stay visible
    /// next to thousands of small ones (bars of block counts hid them). A
    /// non-zero order gets at least one mark.
    public func render(color: Bool, width: Int = 40) -> String {
        var out = ["Free memory per order: blocks (the /proc/buddyinfo count) × block size; bars scale to the zone's largest"]
        for z in zones {
            let memory = z.freeBlocks.enumerated().map { BuddyChart.freePages(blocks: $0.element, order: $0.offset) }
            let most = max(1, memory.max() ?? 1)
            let total = memory.reduce(0, &+)
            let largest = z.freeBlocks.lastIndex { $0 > 0 }
            let biggest = largest.map { "largest free block: order \($0), \(byteSize(4096 << UInt64($0)))" } ?? "no free block"
            out.append("zone \(z.name): \(byteSize(total &* 4096)) free; \(biggest)")
            out.append("  order   block   blocks      memory")
            for (order, n) in z.freeBlocks.enumerated() {
                let pages = memory[order]
                let len = pages == 0 ? 0 : max(1, Int(pages * UInt64(width) / most))
                let bar = String(repeating: color ? "█" : "#", count: len)
                let painted = color && len > 0 ? "\u{1B}[32m" + bar + "\u{1B}[0m" : bar
                let block = byteSize(4096 << UInt64(order)).replacingOccurrences(of: "iB", with: "")
                out.append("  " + pad(String(order), 5) + " " + pad(block, 7) + " " + pad(String(n), 8) + " "
                           + pad(pages == 0 ? "-" : byteSize(pages &* 4096).replacingOccurrences(of: "iB", with: ""), 11) + " " + painted)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}
