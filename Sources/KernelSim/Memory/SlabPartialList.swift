/// A cache's list of partial slabs, by slab id, in the order SLUB's
/// `list_head` keeps them: a new partial slab goes at the tail, the CPU
/// slab is refilled from the tail, and a slab that empties leaves from
/// wherever it is. A doubly linked list over slab ids, as the kernel's, so
/// that leaving is O(1) (an array's search made each such free cost the
/// length of the list: 6 µs per free at a million objects).
struct SlabPartialList: Sequence {
    /// next[id] / prev[id]: the neighbours of slab `id` (-1: none). Only
    /// meaningful while `id` is listed.
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var listed: [Bool] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1
    private(set) var count = 0

    /// Whether slab `id` is on the list.
    func contains(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < listed.count && listed[Int(id)]
    }

    /// Adds slab `id` at the tail (list_add_tail); nothing if already listed.
    mutating func append(_ id: Int32) {
        guard id >= 0, !contains(id) else { return }
        let i = Int(id)
        if i >= listed.count {
            let n = Swift.max(i + 1, listed.count * 2)
            next += repeatElement(-1, count: n - next.count)
            prev += repeatElement(-1, count: n - prev.count)
            listed += repeatElement(false, count: n - listed.count)
        }
        listed[i] = true
        prev[i] = tail
        next[i] = -1
        if tail >= 0 { next[Int(tail)] = id } else { head = id }
        tail = id
        count += 1
    }

    /// Takes the slab at the tail.
    mutating func popLast() -> Int32? {
        guard tail >= 0 else { return nil }
        let id = tail
        remove(id)
        return id
    }

    /// Takes slab `id` off the list wherever it is; nothing if not listed.
    mutating func remove(_ id: Int32) {
        guard contains(id) else { return }
        let i = Int(id)
        let p = prev[i], n = next[i]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
        listed[i] = false
        count -= 1
    }

    /// Empties the list (a destroyed cache).
    mutating func removeAll() {
        var at = head
        while at >= 0 {
            let n = next[Int(at)]
            listed[Int(at)] = false
            at = n
        }
        head = -1
        tail = -1
        count = 0
    }

    /// Head to tail.
    func makeIterator() -> AnyIterator<Int32> {
        var at = head
        let next = self.next
        return AnyIterator {
            guard at >= 0 else { return nil }
            defer { at = next[Int(at)] }
            return at
        }
    }
}
