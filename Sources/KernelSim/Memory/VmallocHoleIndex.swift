/// The free holes of the vmalloc space, for a first-fit search in
/// O(log n): a treap of the areas by start address, each node holding the
/// hole just below its area and the largest hole in its subtree (Linux does
/// the same with an rbtree augmented by `subtree_max_size`). A linear scan
/// of every area made 60,000 small vmallocs take seconds.
///
/// The hole below an area runs from the end of the area before it (or the
/// bottom of the space) to the area's start; the hole above the last area
/// is the caller's to check. Priorities come from a fixed generator, so the
/// tree's shape, like everything else, is the same in every run.
import SeededRandom

struct VmallocHoleIndex {
    private var key: [UInt64] = []
    private var gap: [UInt64] = []
    private var maxGap: [UInt64] = []
    private var priority: [UInt64] = []
    private var left: [Int32] = []
    private var right: [Int32] = []
    private var freeNodes: [Int32] = []
    private var root: Int32 = -1
    private var rng = SplitMix64(state: SplitMix64.gamma)
    private(set) var count = 0

    private func maxGap(_ n: Int32) -> UInt64 { n < 0 ? 0 : maxGap[Int(n)] }

    private mutating func update(_ n: Int32) {
        let i = Int(n)
        maxGap[i] = max(gap[i], max(maxGap(left[i]), maxGap(right[i])))
    }

    private mutating func newNode(_ k: UInt64, _ g: UInt64) -> Int32 {
        let z = rng.next()
        if let n = freeNodes.popLast() {
            let i = Int(n)
            key[i] = k; gap[i] = g; maxGap[i] = g; priority[i] = z; left[i] = -1; right[i] = -1
            return n
        }
        key.append(k); gap.append(g); maxGap.append(g); priority.append(z); left.append(-1); right.append(-1)
        return Int32(key.count - 1)
    }

    /// Splits subtree `n` into keys < k and keys >= k.
    private mutating func split(_ n: Int32, _ k: UInt64) -> (Int32, Int32) {
        guard n >= 0 else { return (-1, -1) }
        let i = Int(n)
        if key[i] < k {
            let (a, b) = split(right[i], k)
            right[i] = a
            update(n)
            return (n, b)
        } else {
            let (a, b) = split(left[i], k)
            left[i] = b
            update(n)
            return (a, n)
        }
    }

    /// Joins two subtrees, every key of `a` below every key of `b`.
    private mutating func merge(_ a: Int32, _ b: Int32) -> Int32 {
        if a < 0 { return b }
        if b < 0 { return a }
        if priority[Int(a)] > priority[Int(b)] {
            right[Int(a)] = merge(right[Int(a)], b)
            update(a)
            return a
        } else {
            left[Int(b)] = merge(a, left[Int(b)])
            update(b)
            return b
        }
    }

    /// Adds the area starting at `start` with the hole `gap` below it.
    mutating func insert(start: UInt64, gap g: UInt64) {
        let n = newNode(start, g)
        let (a, b) = split(root, start)
        root = merge(merge(a, n), b)
        count += 1
    }

    /// Removes the area starting at `start` (nothing if there is none).
    mutating func remove(start: UInt64) {
        let (a, rest) = split(root, start)
        let (mid, b) = split(rest, start &+ 1)
        if mid >= 0 {
            freeNodes.append(mid)
            count -= 1
        }
        root = merge(a, b)
    }

    /// Sets the hole below the area starting at `start`.
    mutating func setGap(start: UInt64, gap g: UInt64) {
        setGap(root, start, g)
    }

    private mutating func setGap(_ n: Int32, _ k: UInt64, _ g: UInt64) {
        guard n >= 0 else { return }
        let i = Int(n)
        if key[i] == k {
            gap[i] = g
        } else if k < key[i] {
            setGap(left[i], k, g)
        } else {
            setGap(right[i], k, g)
        }
        update(n)
    }

    /// The start of the lowest area with a hole of at least `size` below
    /// it, or nil.
    func lowestArea(withGapAtLeast size: UInt64) -> UInt64? {
        var n = root
        guard maxGap(n) >= size else { return nil }
        while n >= 0 {
            let i = Int(n)
            if maxGap(left[i]) >= size {
                n = left[i]
            } else if gap[i] >= size {
                return key[i]
            } else {
                n = right[i]
            }
        }
        return nil
    }
}
