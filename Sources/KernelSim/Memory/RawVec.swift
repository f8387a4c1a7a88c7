/// A growable buffer of trivial values addressed through a raw pointer:
/// element writes do not go through Array's copy-on-write uniqueness check
/// (the slab fast path touches several per-object fields per call).
///
/// Non-copyable, as swift-collections' `RigidArray`: exactly one owner holds
/// the buffer, and `deinit` frees it, so it can neither leak nor be freed
/// twice. Indices are checked in debug builds (the tests); release builds
/// trust the slab code's own invariants (`Invariants.swift` checks them in
/// the tests).
/// Single-threaded by design.
struct RawVec<T: BitwiseCopyable>: ~Copyable {
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

    deinit {
        if capacity > 0 { ptr.deallocate() }
    }

    @inline(__always) subscript(i: Int) -> T {
        get {
            assert(i >= 0 && i < count, "RawVec index \(i) out of range 0..<\(count)")
            return ptr[i]
        }
        nonmutating set {
            assert(i >= 0 && i < count, "RawVec index \(i) out of range 0..<\(count)")
            ptr[i] = newValue
        }
    }

    mutating func append(_ value: T, count n: Int) {
        precondition(n >= 0, "RawVec.append: negative count \(n)")
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
}

/// Interns strings and string lists as small integers, so that allocation
/// records stay trivial values. Index 0 is "" / [].
///
/// The traces are the simulator's stack depot (lib/stackdepot.c), and
/// bounded like it: the kernel stops at DEPOT_POOLS_CAP (8192) pools of
/// 16 KiB, some 245,000 records of 64 frames; kmlab keeps `maxTraces`
/// unique traces and charges their host bytes to the machine's contents
/// budget (`reserveBytes`), since a script that allocates from ever new
/// lines would otherwise grow the table without limit. Past either bound a
/// new trace gets the one "depot full" trace, as the kernel's
/// stack_depot_save() returns no handle and KASAN then prints "(stack is
/// not available)"; the machine warns once (`overflowed`).
final class InternTable {
    /// Unique traces kept (the kernel's capacity is larger, but its
    /// records are 544 bytes and kmlab's are Swift strings).
    static let maxTraces = 16_384
    /// What a trace that did not fit in the depot shows.
    static let depotFullTrace = ["(stack is not available: stack depot full)"]
    /// Asks the budget for `n` more host bytes (false: refused).
    var reserveBytes: (Int) -> Bool = { _ in true }
    /// Set when the depot first refuses a trace, for the machine's warning.
    var overflowed = false
    private var depotFullId: Int32 = -1
    /// Unique traces stored (the depot-full trace not counted).
    var storedTraces: Int { traces.count - 1 - (depotFullId >= 0 ? 1 : 0) }

    private(set) var comms: [String] = [""]
    private var commIndex: [String: Int32] = ["": 0]
    private var lastComm = ""
    private var lastCommId: Int32 = 0
    private(set) var traces: [[String]] = [[]]
    private var traceIndex: [[String]: Int32] = [[]: 0]

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
    private var recentTraces = [[String]](repeating: [], count: InternTable.recentSlots)
    private var recentIds = [Int32](repeating: 0, count: InternTable.recentSlots)
    private var recentNext = 0

    /// What a stored trace costs the host: its text and string headers,
    /// twice (the list and the index).
    static func hostBytes(_ t: [String]) -> Int {
        2 * (32 + t.reduce(0) { $0 + $1.utf8.count + 16 })
    }

    private func fullTraceId() -> Int32 {
        if depotFullId < 0 {
            depotFullId = Int32(traces.count)
            traces.append(InternTable.depotFullTrace)
            overflowed = true
        }
        return depotFullId
    }

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
        } else if storedTraces < InternTable.maxTraces && reserveBytes(InternTable.hostBytes(t)) {
            id = Int32(traces.count)
            traces.append(t)
            traceIndex[t] = id
        } else {
            id = fullTraceId()
        }
        recentTraces[recentNext] = t
        recentIds[recentNext] = id
        recentNext = (recentNext + 1) % InternTable.recentSlots
        return id
    }
}
