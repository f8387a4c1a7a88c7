/// One `struct page`, compacted to 16 bytes: what the simulation needs of it.
///
/// - free block head (PageBuddy): `order`, free-list links in `a` (next) and
///   `b` (prev) for orders below 10;
/// - free block tail: nothing;
/// - allocated block head: `order`, `owner`, `flags`, `a` = owner-specific
///   (slab id, vmalloc area id, page-cache LRU slot), `b` = mapcount;
/// - allocated block tail: `a` = head pfn (compound_head);
/// - reserved: `a` = what reserved it (`ReservedDetail`).
import SeededRandom

struct Frame {
    var kind: UInt8
    var order: UInt8
    var flags: UInt16
    var owner: UInt32
    var a: UInt32
    var b: UInt32

    static let freeHead: UInt8 = 0
    static let freeTail: UInt8 = 1
    static let allocHead: UInt8 = 2
    static let allocTail: UInt8 = 3
    static let reserved: UInt8 = 4
    /// Not RAM (e820 hole, or past the end of RAM in the last chunk).
    static let hole: UInt8 = 5

    static let none: UInt32 = 0xFFFF_FFFF
}

/// Page flags kept per frame (a subset of include/linux/page-flags.h).
enum PG {
    static let slab: UInt16 = 1 << 0
    static let head: UInt16 = 1 << 1
    static let lru: UInt16 = 1 << 2
    static let reserved: UInt16 = 1 << 3
    static let uptodate: UInt16 = 1 << 4
    static let dirty: UInt16 = 1 << 5
    static let referenced: UInt16 = 1 << 6
    static let active: UInt16 = 1 << 7
    static let swapbacked: UInt16 = 1 << 8
    static let mappedtodisk: UInt16 = 1 << 9
    static let table: UInt16 = 1 << 10

    /// Real bit numbers of `enum pageflags` in 6.8, for `page->flags`.
    static let kernelBits: [(UInt16, Int, String)] = [
        (referenced, 2, "referenced"), (uptodate, 3, "uptodate"), (dirty, 4, "dirty"), (lru, 5, "lru"),
        (head, 6, "head"), (active, 8, "active"), (slab, 11, "slab"), (reserved, 14, "reserved"),
        (mappedtodisk, 17, "mappedtodisk"), (swapbacked, 19, "swapbacked"),
    ]
}

/// Who owns a frame: the `owner` field of the page info.
enum Owner {
    static let free: UInt32 = 0
    static let reserved: UInt32 = 1
    static let pages: UInt32 = 2
    static let vmalloc: UInt32 = 3
    static let user: UInt32 = 4
    static let pagecache: UInt32 = 5
    static let pagetable: UInt32 = 6
    static let kmallocLarge: UInt32 = 7
    /// Unmovable kernel memory of an aged machine (dentries, inodes, ...).
    static let kernel: UInt32 = 8
    /// Slab cache `i` is owner `slabBase + i`.
    static let slabBase: UInt32 = 16
}

enum ReservedDetail: UInt32 {
    case firmware = 0, kernelImage, memmap, pageTables, hole, swiotlb
    var text: String {
        switch self {
        case .swiotlb: return "swiotlb bounce buffer"
        case .firmware: return "BIOS/real mode"
        case .kernelImage: return "kernel image"
        case .memmap: return "mem_map"
        case .pageTables: return "boot page tables"
        case .hole: return "e820 hole"
        }
    }
}

/// Chunk = one MAX_ORDER_NR_PAGES (1024 frames, 4 MiB) aligned block. A chunk
/// is kept as a single value until something needs its frames one by one.
enum ChunkState {
    static let materialized: UInt8 = 0
    /// A free order-10 block, linked in its zone's order-10 free list.
    static let free: UInt8 = 1
    /// One allocated order-10 block (owner, flags, aux in the chunk arrays).
    static let whole: UInt8 = 2
    /// Entirely reserved at boot (detail in chunkOwner).
    static let reserved: UInt8 = 3
}

/// Page frames: their metadata (lazily, per chunk) and their contents
/// (sparsely, per frame).
///
/// Contents: a frame never written reads as deterministic garbage derived
/// from the seed; a frame known to be all zero points at a shared zero page;
/// a written frame owns 4 KiB of host memory. A chunk's table of frame
/// buffers (8 KiB) exists only while some frame of it is written or partly
/// zeroed: a chunk whose every frame is zero shares one read-only table, so
/// zeroing a huge range costs no host memory. `storedBytes` counts buffers
/// and tables against `limit`.
final class PhysicalMemory {
    let totalPages: UInt64
    let nChunks: Int
    let seed: UInt64

    var chunkState: [UInt8]
    var chunkOwner: [UInt32]
    var chunkFlags: [UInt16]
    var chunkAux: [UInt32]
    var chunkNext: [UInt32]
    var chunkPrev: [UInt32]
    var frames: [UnsafeMutablePointer<Frame>?]
    private var pool: [UnsafeMutablePointer<Frame>] = []
    private(set) var materializedChunks = 0

    var contents: [UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?]
    private(set) var storedBytes = 0
    /// Per chunk with a table of its own: how many of its entries are the zero page.
    private var zeroEntries: [UInt16]
    var limit: Int

    /// What `frame` says of a pfn past the last chunk: not RAM.
    static let holeFrame = Frame(kind: Frame.hole, order: 0, flags: PG.reserved, owner: Owner.reserved,
                                 a: ReservedDetail.hole.rawValue, b: 0)
    /// Where `mframe` points for a pfn past the last chunk (see there).
    private let outOfRangeFrame: UnsafeMutablePointer<Frame> = {
        let f = UnsafeMutablePointer<Frame>.allocate(capacity: 1)
        f.initialize(to: PhysicalMemory.holeFrame)
        return f
    }()

    static let zeroPage: UnsafeMutablePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
        p.initialize(repeating: 0, count: 4096)
        return p
    }()

    /// The table of a chunk whose every frame is zero (never written through).
    static let zeroTable: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?> = {
        let t = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 1024)
        t.initialize(repeating: PhysicalMemory.zeroPage, count: 1024)
        return t
    }()

    /// Host bytes of a chunk's own table of frame buffers.
    static let tableBytes = 1024 * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride

    init(totalPages: UInt64, seed: UInt64, limit: Int) {
        self.totalPages = totalPages
        self.seed = seed
        self.limit = limit
        let n = Int((totalPages + 1023) >> 10)
        nChunks = n
        chunkState = [UInt8](repeating: ChunkState.reserved, count: n)
        chunkOwner = [UInt32](repeating: 0, count: n)
        chunkFlags = [UInt16](repeating: 0, count: n)
        chunkAux = [UInt32](repeating: 0, count: n)
        chunkNext = [UInt32](repeating: Frame.none, count: n)
        chunkPrev = [UInt32](repeating: Frame.none, count: n)
        frames = [UnsafeMutablePointer<Frame>?](repeating: nil, count: n)
        contents = [UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?](repeating: nil, count: n)
        zeroEntries = [UInt16](repeating: 0, count: n)
    }

    deinit {
        outOfRangeFrame.deallocate()
        for f in frames { f?.deallocate() }
        for f in pool { f.deallocate() }
        for table in contents {
            guard let t = table, t != PhysicalMemory.zeroTable else { continue }
            for i in 0..<1024 {
                if let p = t[i], p != PhysicalMemory.zeroPage { p.deallocate() }
            }
            t.deallocate()
        }
    }

    // MARK: frame metadata

    /// The frame's metadata (synthesized for chunks kept whole).
    @inline(__always) func frame(_ pfn: UInt64) -> Frame {
        // A pfn can come from simulated memory (a page-table entry, a
        // pointer a script wrote): past the last chunk it is a hole, never
        // an index out of range.
        guard pfn < UInt64(nChunks) << 10 else { return PhysicalMemory.holeFrame }
        let c = Int(truncatingIfNeeded: pfn >> 10)
        if let f = frames[c] { return f[Int(pfn & 1023)] }
        let first = pfn & 1023 == 0
        switch chunkState[c] {
        case ChunkState.free:
            return first ? Frame(kind: Frame.freeHead, order: 10, flags: 0, owner: Owner.free, a: 0, b: 0)
                : Frame(kind: Frame.freeTail, order: 0, flags: 0, owner: Owner.free, a: 0, b: 0)
        case ChunkState.whole:
            return first ? Frame(kind: Frame.allocHead, order: 10, flags: chunkFlags[c], owner: chunkOwner[c],
                                 a: chunkAux[c], b: 0)
                : Frame(kind: Frame.allocTail, order: 0, flags: 0, owner: chunkOwner[c],
                        a: UInt32(truncatingIfNeeded: pfn & ~1023), b: 0)
        default:
            return Frame(kind: Frame.reserved, order: 0, flags: PG.reserved, owner: Owner.reserved,
                         a: chunkOwner[c], b: 0)
        }
    }

    /// The frames of chunk `c`, creating them from the chunk's state.
    @discardableResult
    func materialize(_ c: Int) -> UnsafeMutablePointer<Frame> {
        if let f = frames[c] { return f }
        let f = pool.popLast() ?? UnsafeMutablePointer<Frame>.allocate(capacity: 1024)
        let base = UInt64(c) << 10
        for i in 0..<1024 {
            let pfn = base + UInt64(i)
            if pfn >= totalPages {
                f[i] = Frame(kind: Frame.hole, order: 0, flags: PG.reserved, owner: Owner.reserved,
                             a: ReservedDetail.hole.rawValue, b: 0)
            } else {
                f[i] = frame(pfn)
            }
        }
        frames[c] = f
        chunkState[c] = ChunkState.materialized
        materializedChunks += 1
        return f
    }

    /// Gives chunk `c` back its single-value state (its frames are dropped).
    func dematerialize(_ c: Int, state: UInt8, owner: UInt32 = 0, flags: UInt16 = 0, aux: UInt32 = 0) {
        if let f = frames[c] {
            pool.append(f)
            frames[c] = nil
            materializedChunks -= 1
        }
        chunkState[c] = state
        chunkOwner[c] = owner
        chunkFlags[c] = flags
        chunkAux[c] = aux
    }

    /// Mutable access to a frame (materializing its chunk).
    @inline(__always) func mframe(_ pfn: UInt64) -> UnsafeMutablePointer<Frame> {
        guard pfn < UInt64(nChunks) << 10 else {
            // Callers check their pfns; should one slip through, what it
            // writes lands in a scratch frame, not outside the arrays.
            outOfRangeFrame.pointee = PhysicalMemory.holeFrame
            return outOfRangeFrame
        }
        let c = Int(truncatingIfNeeded: pfn >> 10)
        if let f = frames[c] { return f + Int(pfn & 1023) }
        return materialize(c) + Int(pfn & 1023)
    }

    /// Pointer to a frame whose chunk is known to be materialized.
    @inline(__always) func frameIfMaterialized(_ pfn: UInt64) -> UnsafeMutablePointer<Frame>? {
        guard pfn < UInt64(nChunks) << 10 else { return nil }
        let c = Int(truncatingIfNeeded: pfn >> 10)
        guard let f = frames[c] else { return nil }
        return f + Int(pfn & 1023)
    }

    /// The head of the block containing `pfn` (compound_head), for allocated frames.
    @inline(__always) func headPfn(_ pfn: UInt64) -> UInt64 {
        let f = frame(pfn)
        return f.kind == Frame.allocTail ? UInt64(f.a) : pfn
    }

    // MARK: contents

    /// Garbage the frame held at boot: 8 bytes per word, from the seed.
    @inline(__always) func garbageWord(_ pfn: UInt64, _ word: UInt64) -> UInt64 {
        SplitMix64.mix(seed &* 0x2545_F491_4F6C_DD1D ^ (pfn << 9 | word))
    }

    @inline(__always) func contentPointer(_ pfn: UInt64) -> UnsafeMutablePointer<UInt8>? {
        guard pfn < totalPages, let t = contents[Int(truncatingIfNeeded: pfn >> 10)] else { return nil }
        return t[Int(pfn & 1023)]
    }

    @inline(__always) func readByte(_ pfn: UInt64, _ off: Int) -> UInt8 {
        if pfn >= totalPages { return 0xFF }
        if let p = contentPointer(pfn) { return p[off] }
        let w = garbageWord(pfn, UInt64(off >> 3))
        return UInt8(truncatingIfNeeded: w >> (UInt64(off & 7) * 8))
    }

    /// Copies `count` bytes of frame `pfn` from `off` (within the frame).
    func read(_ pfn: UInt64, _ off: Int, _ count: Int, into out: UnsafeMutablePointer<UInt8>) {
        if pfn >= totalPages {
            out.update(repeating: 0xFF, count: count)
            return
        }
        if let p = contentPointer(pfn) {
            out.update(from: p + off, count: count)
            return
        }
        for i in 0..<count { out[i] = readByte(pfn, off + i) }
    }

    func readWord32(_ pfn: UInt64, _ off: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(readByte(pfn, off + i)) << (8 * UInt32(i)) }
        return v
    }

    func readWord64(_ pfn: UInt64, _ off: Int) -> UInt64 {
        if pfn < totalPages, let p = contentPointer(pfn) {
            return UnsafeRawPointer(p + off).loadUnaligned(as: UInt64.self)
        }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(readByte(pfn, off + i)) << (8 * UInt64(i)) }
        return v
    }

    /// Counts `n` host bytes of other simulator state (the stack depot)
    /// against the limit; false, and nothing counted, past it.
    func reserveHostBytes(_ n: Int) -> Bool {
        guard n >= 0, storedBytes + n <= limit else { return false }
        storedBytes += n
        return true
    }

    /// Would storing `frames` more frames stay within the limit?
    @inline(__always) func canStore(frames n: Int) -> Bool { storedBytes + n * 4096 <= limit }

    /// Frames among `pfns` that would need a buffer of their own to be written.
    func framesNeedingStorage(_ pfns: [UInt64]) -> Int {
        var n = 0
        for pfn in pfns where pfn < totalPages {
            if let p = contentPointer(pfn), p != PhysicalMemory.zeroPage { continue }
            n += 1
        }
        return n
    }

    /// The frame's own writable buffer (created from garbage or zeros).
    /// Throws if that would exceed the limit; nothing changes then.
    @inline(__always) func writable(_ pfn: UInt64) throws -> UnsafeMutablePointer<UInt8> {
        guard pfn < totalPages else { throw SimulatorLimitError.memoryLimitExceeded(limit: limit) }
        let c = Int(truncatingIfNeeded: pfn >> 10)
        if let t = contents[c], let p = t[Int(pfn & 1023)], p != PhysicalMemory.zeroPage { return p }
        return try makeWritable(pfn)
    }

    /// Whether chunk `c` has a table of its own (not none, not the shared zero one).
    @inline(__always) private func ownsTable(_ c: Int) -> Bool {
        if let t = contents[c], t != PhysicalMemory.zeroTable { return true }
        return false
    }

    /// Chunk `c`'s own table, made (and counted) if it has none: entries
    /// nil (garbage) where it had no table, the zero page where it shared
    /// the zero table. `enforce`: throw instead of passing `limit`.
    private func ownTable(_ c: Int, enforce: Bool) throws -> UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?> {
        if let t = contents[c], t != PhysicalMemory.zeroTable { return t }
        if enforce && storedBytes + PhysicalMemory.tableBytes > limit {
            throw SimulatorLimitError.memoryLimitExceeded(limit: limit)
        }
        let wasZero = contents[c] == PhysicalMemory.zeroTable
        let table = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 1024)
        table.initialize(repeating: wasZero ? PhysicalMemory.zeroPage : nil, count: 1024)
        contents[c] = table
        zeroEntries[c] = wasZero ? 1024 : 0
        storedBytes += PhysicalMemory.tableBytes
        return table
    }

    private func makeWritable(_ pfn: UInt64) throws -> UnsafeMutablePointer<UInt8> {
        let c = Int(truncatingIfNeeded: pfn >> 10)
        let needed = 4096 + (ownsTable(c) ? 0 : PhysicalMemory.tableBytes)
        guard storedBytes + needed <= limit else { throw SimulatorLimitError.memoryLimitExceeded(limit: limit) }
        let table = try ownTable(c, enforce: true)
        let i = Int(pfn & 1023)
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
        if table[i] == PhysicalMemory.zeroPage {
            buf.initialize(repeating: 0, count: 4096)
            zeroEntries[c] -= 1
        } else {
            let words = UnsafeMutableRawPointer(buf)
            for w in 0..<512 {
                words.storeBytes(of: garbageWord(pfn, UInt64(w)).littleEndian, toByteOffset: w * 8, as: UInt64.self)
            }
        }
        table[i] = buf
        storedBytes += 4096
        return buf
    }

    /// Writes bytes inside one frame. Writes past the end of RAM are lost.
    func write(_ pfn: UInt64, _ off: Int, _ src: UnsafePointer<UInt8>, _ count: Int) throws {
        if pfn >= totalPages || count == 0 { return }
        let p = try writable(pfn)
        (p + off).update(from: src, count: count)
    }

    func fill(_ pfn: UInt64, _ off: Int, _ byte: UInt8, _ count: Int) throws {
        if pfn >= totalPages || count == 0 { return }
        if off == 0 && count == 4096 && byte == 0 {
            try zero(pfn, enforce: true)
            return
        }
        let p = try writable(pfn)
        (p + off).update(repeating: byte, count: count)
    }

    @inline(__always) func writeWord(_ pfn: UInt64, _ off: Int, _ value: UInt64, size: Int) throws {
        if pfn >= totalPages { return }
        let p = try writable(pfn)
        if size == 8 {
            UnsafeMutableRawPointer(p + off).storeBytes(of: value.littleEndian, as: UInt64.self)
        } else {
            UnsafeMutableRawPointer(p + off).storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
        }
    }

    /// The whole frame becomes zero without storing a buffer. For the
    /// kernel's own zeroing (page allocations, boot): it may pass `limit`
    /// by a table, since those frames are simulated memory already held.
    func zeroFrame(_ pfn: UInt64) {
        try? zero(pfn, enforce: false)
    }

    /// A frame becomes zero. Once every frame of its chunk is, the chunk's
    /// table goes and the chunk shares the zero table: a memset over any
    /// range leaves at most the tables of its two partial ends.
    private func zero(_ pfn: UInt64, enforce: Bool) throws {
        if pfn >= totalPages { return }
        let c = Int(truncatingIfNeeded: pfn >> 10)
        if contents[c] == PhysicalMemory.zeroTable { return }
        let table = try ownTable(c, enforce: enforce)
        let i = Int(pfn & 1023)
        if table[i] == PhysicalMemory.zeroPage { return }
        if let p = table[i] {
            p.deallocate()
            storedBytes -= 4096
        }
        table[i] = PhysicalMemory.zeroPage
        zeroEntries[c] += 1
        if zeroEntries[c] == 1024 {
            table.deallocate()
            contents[c] = PhysicalMemory.zeroTable
            zeroEntries[c] = 0
            storedBytes -= PhysicalMemory.tableBytes
        }
    }

    func isStored(_ pfn: UInt64) -> Bool {
        if let p = contentPointer(pfn), p != PhysicalMemory.zeroPage { return true }
        return false
    }
}
