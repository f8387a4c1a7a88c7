/// A growable buffer of trivial values addressed through a raw pointer:
/// element writes do not go through Array's copy-on-write uniqueness check
/// (the slab fast path touches several per-object fields per call).
/// The owner frees it with `free()`. Single-threaded by design.
struct RawVec<T> {
    private(set) var ptr: UnsafeMutablePointer<T>
    private(set) var count: Int
    private(set) var capacity: Int

    /// Empty, without allocating (a machine boots ~50 caches of ~10 of
    /// these, mostly never used): `ptr` is a placeholder until the first append.
    init() {
        ptr = UnsafeMutablePointer<T>(bitPattern: MemoryLayout<T>.alignment) ?? .allocate(capacity: 1)
        count = 0
        capacity = 0
    }

    @inline(__always) subscript(i: Int) -> T {
        get { ptr[i] }
        nonmutating set { ptr[i] = newValue }
    }

    mutating func append(_ value: T, count n: Int) {
        if count + n > capacity {
            var cap = max(capacity, 1)
            while cap < count + n { cap *= 2 }
            let p = UnsafeMutablePointer<T>.allocate(capacity: cap)
            if capacity > 0 {
                p.moveInitialize(from: ptr, count: count)
                ptr.deallocate()
            }
            ptr = p
            capacity = cap
        }
        (ptr + count).initialize(repeating: value, count: n)
        count += n
    }

    mutating func append(_ value: T) { append(value, count: 1) }

    func free() {
        guard capacity > 0 else { return }
        ptr.deinitialize(count: count)
        ptr.deallocate()
    }
}

/// Interns strings and string lists as small integers, so that allocation
/// records stay trivial values. Index 0 is "" / [].
final class InternTable {
    @exclusivity(unchecked) private(set) var comms: [String] = [""]
    @exclusivity(unchecked) private var commIndex: [String: Int32] = ["": 0]
    @exclusivity(unchecked) private var lastComm = ""
    @exclusivity(unchecked) private var lastCommId: Int32 = 0
    @exclusivity(unchecked) private(set) var traces: [[String]] = [[]]
    @exclusivity(unchecked) private var traceIndex: [[String]: Int32] = [[]: 0]

    @inline(__always) func comm(_ s: String) -> Int32 {
        if s == lastComm { return lastCommId }
        let id: Int32
        if let i = commIndex[s] {
            id = i
        } else {
            id = Int32(comms.count)
            comms.append(s)
            commIndex[s] = id
        }
        lastComm = s
        lastCommId = id
        return id
    }

    /// The traces interned last, to recognise the same array instances (a
    /// memoizing provider hands the same few back in turn: a loop's kmalloc
    /// and kfree stacks) by address, without hashing strings. The slots keep
    /// their arrays alive, so an address cannot be reused while it is there.
    private static let recentSlots = 4
    @exclusivity(unchecked) private var recentTraces = [[String]](repeating: [], count: InternTable.recentSlots)
    @exclusivity(unchecked) private var recentIds = [Int32](repeating: 0, count: InternTable.recentSlots)
    @exclusivity(unchecked) private var recentNext = 0

    @inline(__always) private static func address(_ t: [String]) -> UnsafeRawPointer? {
        t.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    @inline(__always) func trace(_ t: [String]) -> Int32 {
        if t.isEmpty { return 0 }
        let a = InternTable.address(t)
        for i in 0..<InternTable.recentSlots where InternTable.address(recentTraces[i]) == a { return recentIds[i] }
        let id: Int32
        if let i = traceIndex[t] {
            id = i
        } else {
            id = Int32(traces.count)
            traces.append(t)
            traceIndex[t] = id
        }
        recentTraces[recentNext] = t
        recentIds[recentNext] = id
        recentNext = (recentNext + 1) % InternTable.recentSlots
        return id
    }
}
