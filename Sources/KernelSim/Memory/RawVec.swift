/// A growable buffer of trivial values addressed through a raw pointer:
/// element writes do not go through Array's copy-on-write uniqueness check
/// (the slab fast path touches several per-object fields per call).
/// The owner frees it with `free()`. Single-threaded by design.
struct RawVec<T> {
    private(set) var ptr: UnsafeMutablePointer<T>
    private(set) var count: Int
    private(set) var capacity: Int

    init() {
        ptr = UnsafeMutablePointer<T>.allocate(capacity: 1)
        count = 0
        capacity = 1
    }

    @inline(__always) subscript(i: Int) -> T {
        get { ptr[i] }
        nonmutating set { ptr[i] = newValue }
    }

    mutating func append(_ value: T, count n: Int) {
        if count + n > capacity {
            var cap = capacity
            while cap < count + n { cap *= 2 }
            let p = UnsafeMutablePointer<T>.allocate(capacity: cap)
            p.moveInitialize(from: ptr, count: count)
            ptr.deallocate()
            ptr = p
            capacity = cap
        }
        (ptr + count).initialize(repeating: value, count: n)
        count += n
    }

    mutating func append(_ value: T) { append(value, count: 1) }

    func free() {
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

    /// The last trace interned, to recognise the same array instance (a
    /// memoizing provider hands back the same one) without hashing strings.
    @exclusivity(unchecked) private var lastTrace: [String] = []
    @exclusivity(unchecked) private var lastTraceId: Int32 = 0

    @inline(__always) func trace(_ t: [String]) -> Int32 {
        if t.isEmpty { return 0 }
        if t.withUnsafeBufferPointer({ a in lastTrace.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress } }) {
            return lastTraceId
        }
        if let i = traceIndex[t] {
            lastTrace = t
            lastTraceId = i
            return i
        }
        let id = Int32(traces.count)
        traces.append(t)
        traceIndex[t] = id
        lastTrace = t
        lastTraceId = id
        return id
    }
}
