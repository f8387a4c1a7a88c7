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

    /// Bars scaled to the zone's largest count (a non-zero count gets at
    /// least one mark), with the block size and the free memory per order.
    public func render(color: Bool, width: Int = 40) -> String {
        var out = ["Free blocks per order (as /proc/buddyinfo counts them); bars scale to the zone's largest count"]
        for z in zones {
            let most = max(1, z.freeBlocks.max() ?? 1)
            var freePages = 0
            for (o, n) in z.freeBlocks.enumerated() { freePages &+= n << o }
            out.append("zone \(z.name): \(byteSize(UInt64(freePages) &* 4096)) free")
            for (order, n) in z.freeBlocks.enumerated() {
                let len = n == 0 ? 0 : max(1, n * width / most)
                let bar = String(repeating: color ? "█" : "#", count: len)
                let painted = color && len > 0 ? "\u{1B}[32m" + bar + "\u{1B}[0m" : bar
                let label = "  order " + pad(String(order), 2) + " " + pad(byteSize(4096 << UInt64(order)).replacingOccurrences(of: "iB", with: ""), 6)
                out.append(label + " " + pad(String(n), 7) + " " + painted)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}
