/// One memory zone (struct zone): spanned range, accounting, the buddy free
/// lists (one per order 0...10), watermarks and lowmem reserves.
final class Zone {
    let type: ZoneType
    /// zone_idx: position in the architecture's zone list.
    let index: Int
    /// Spanned pfns [start, end).
    let start: UInt64
    let end: UInt64
    /// zone_start_pfn as the kernel reports it (DMA starts at pfn 1: page 0 is BIOS-owned).
    var reportedStart: UInt64
    var present: UInt64 = 0
    var managed: UInt64 = 0
    /// NR_FREE_PAGES.
    var freePages = 0
    var nrFree = [Int](repeating: 0, count: 11)
    var head = [UInt64](repeating: Buddy.none, count: 11)
    var tail = [UInt64](repeating: Buddy.none, count: 11)
    var wmarkMin = 0
    var wmarkLow = 0
    var wmarkHigh = 0
    var wmarkPromo = 0
    var lowmemReserve: [Int]
    /// Pages of this zone in the page cache.
    var pagecache = 0
    /// NUMA_HIT events (allocations served from this zone), /proc/zoneinfo's numa_hit.
    var numaHits = 0

    init(type: ZoneType, index: Int, start: UInt64, end: UInt64, zoneCount: Int) {
        self.type = type
        self.index = index
        self.start = start
        self.end = end
        reportedStart = start
        lowmemReserve = [Int](repeating: 0, count: zoneCount)
    }

    var name: String { type.name }
    var spanned: UInt64 { end > reportedStart ? end - reportedStart : 0 }
    /// populated_zone(): has present pages.
    var populated: Bool { present > 0 }
    @inline(__always) func contains(_ pfn: UInt64) -> Bool { pfn >= start && pfn < end }
}

/// The buddy allocator proper (mm/page_alloc.c): free lists per zone and
/// order, `__rmqueue_smallest` + `expand` to split, `__free_one_page` to
/// coalesce. Order-10 blocks are whole chunks; their list links live in the
/// chunk arrays, so a never-split 4 MiB block costs no per-frame metadata.
final class Buddy {
    static let none = UInt64.max
    static let maxOrder = 10

    let phys: PhysicalMemory
    var zones: [Zone]
    /// Zone index of every chunk (chunks never straddle zones).
    var chunkZone: [UInt8]
    /// Era 6.x puts a freed block at the tail of its list when its buddy of
    /// the next order is free (buddy_merge_likely); 2.6 always at the head.
    let mergeToTail: Bool

    init(phys: PhysicalMemory, zones: [Zone], mergeToTail: Bool) {
        self.phys = phys
        self.zones = zones
        self.mergeToTail = mergeToTail
        chunkZone = [UInt8](repeating: 0, count: phys.nChunks)
        for z in zones where z.end > z.start {
            var c = Int(z.start >> 10)
            while c < phys.nChunks && UInt64(c) << 10 < z.end {
                chunkZone[c] = UInt8(z.index)
                c += 1
            }
        }
    }

    @inline(__always) func zone(of pfn: UInt64) -> Zone { zones[Int(chunkZone[Int(truncatingIfNeeded: pfn >> 10)])] }

    // MARK: free lists

    @inline(__always) private func next(_ pfn: UInt64, _ order: Int) -> UInt64 {
        let v = order == 10 ? phys.chunkNext[Int(pfn >> 10)] : phys.mframe(pfn).pointee.a
        return v == Frame.none ? Buddy.none : (order == 10 ? UInt64(v) << 10 : UInt64(v))
    }

    @inline(__always) private func prev(_ pfn: UInt64, _ order: Int) -> UInt64 {
        let v = order == 10 ? phys.chunkPrev[Int(pfn >> 10)] : phys.mframe(pfn).pointee.b
        return v == Frame.none ? Buddy.none : (order == 10 ? UInt64(v) << 10 : UInt64(v))
    }

    @inline(__always) private func setNext(_ pfn: UInt64, _ order: Int, _ v: UInt64) {
        if order == 10 {
            phys.chunkNext[Int(pfn >> 10)] = v == Buddy.none ? Frame.none : UInt32(v >> 10)
        } else {
            phys.mframe(pfn).pointee.a = v == Buddy.none ? Frame.none : UInt32(v)
        }
    }

    @inline(__always) private func setPrev(_ pfn: UInt64, _ order: Int, _ v: UInt64) {
        if order == 10 {
            phys.chunkPrev[Int(pfn >> 10)] = v == Buddy.none ? Frame.none : UInt32(v >> 10)
        } else {
            phys.mframe(pfn).pointee.b = v == Buddy.none ? Frame.none : UInt32(v)
        }
    }

    /// add_to_free_list / add_to_free_list_tail. The block's head frame must
    /// already say freeHead + order (orders < 10).
    func listAdd(_ z: Zone, _ pfn: UInt64, _ order: Int, tail atTail: Bool) {
        if atTail {
            let t = z.tail[order]
            setPrev(pfn, order, t)
            setNext(pfn, order, Buddy.none)
            if t != Buddy.none { setNext(t, order, pfn) } else { z.head[order] = pfn }
            z.tail[order] = pfn
        } else {
            let h = z.head[order]
            setNext(pfn, order, h)
            setPrev(pfn, order, Buddy.none)
            if h != Buddy.none { setPrev(h, order, pfn) } else { z.tail[order] = pfn }
            z.head[order] = pfn
        }
        z.nrFree[order] += 1
        z.freePages += 1 << order
    }

    /// del_page_from_free_list.
    func listDel(_ z: Zone, _ pfn: UInt64, _ order: Int) {
        let n = next(pfn, order), p = prev(pfn, order)
        if p != Buddy.none { setNext(p, order, n) } else { z.head[order] = n }
        if n != Buddy.none { setPrev(n, order, p) } else { z.tail[order] = p }
        z.nrFree[order] -= 1
        z.freePages -= 1 << order
    }

    /// page_is_buddy(): `pfn` heads a free block of exactly `order` in zone `z`.
    @inline(__always) func isFreeBlock(_ pfn: UInt64, _ order: Int, _ z: Zone) -> Bool {
        guard pfn < phys.totalPages, z.contains(pfn) else { return false }
        let f = phys.frame(pfn)
        return f.kind == Frame.freeHead && Int(f.order) == order
    }

    // MARK: allocate / free

    /// __rmqueue_smallest(): takes the head of the smallest non-empty list of
    /// order >= `order`, splits it with expand() (the upper halves go to the
    /// free lists, the lowest part is returned). The returned block is off
    /// every list; the caller marks its frames with markAllocated().
    func rmqueue(_ z: Zone, _ order: Int) -> UInt64? {
        for o in order...Buddy.maxOrder {
            let pfn = z.head[o]
            if pfn == Buddy.none { continue }
            listDel(z, pfn, o)
            if o == Buddy.maxOrder && order < Buddy.maxOrder {
                phys.materialize(Int(pfn >> 10))
            }
            var high = o
            var size: UInt64 = 1 << UInt64(o)
            while high > order {
                high -= 1
                size >>= 1
                let half = pfn + size
                let f = phys.mframe(half)
                f.pointee.kind = Frame.freeHead
                f.pointee.order = UInt8(high)
                f.pointee.owner = Owner.free
                f.pointee.flags = 0
                listAdd(z, half, high, tail: false)
            }
            return pfn
        }
        return nil
    }

    /// Marks a block taken by rmqueue() as allocated to `owner`.
    func markAllocated(_ pfn: UInt64, _ order: Int, owner: UInt32, flags: UInt16, aux: UInt32) {
        if order == Buddy.maxOrder {
            phys.dematerialize(Int(pfn >> 10), state: ChunkState.whole, owner: owner, flags: flags | PG.head, aux: aux)
            return
        }
        let f = phys.mframe(pfn)
        f.pointee = Frame(kind: Frame.allocHead, order: UInt8(order), flags: order > 0 ? flags | PG.head : flags,
                          owner: owner, a: aux, b: 0)
        let n = 1 << order
        if n > 1 {
            let t = Frame(kind: Frame.allocTail, order: 0, flags: 0, owner: owner, a: UInt32(pfn), b: 0)
            for i in 1..<n { f[i] = t }
        }
    }

    /// Changes the owner of an allocated block (head and tails).
    func setOwner(_ pfn: UInt64, _ order: Int, owner: UInt32, flags: UInt16, aux: UInt32) {
        markAllocated(pfn, order, owner: owner, flags: flags, aux: aux)
    }

    /// __free_one_page(): returns a block to its zone, merging with free
    /// buddies up to order 10. `toTail` is FPI_TO_TAIL (boot-time freeing).
    func free(_ pfn: UInt64, _ order: Int, toTail: Bool = false) {
        let z = zone(of: pfn)
        if order == Buddy.maxOrder {
            phys.dematerialize(Int(pfn >> 10), state: ChunkState.free)
            listAdd(z, pfn, order, tail: toTail)
            return
        }
        let f = phys.mframe(pfn)
        let n = 1 << order
        for i in 0..<n {
            f[i] = Frame(kind: Frame.freeTail, order: 0, flags: 0, owner: Owner.free, a: 0, b: 0)
        }
        var pfn = pfn
        var order = order
        var buddyPfn: UInt64 = 0
        while order < Buddy.maxOrder {
            buddyPfn = pfn ^ (1 << UInt64(order))
            if !isFreeBlock(buddyPfn, order, z) { break }
            listDel(z, buddyPfn, order)
            let bf = phys.mframe(buddyPfn)
            bf.pointee.kind = Frame.freeTail
            bf.pointee.order = 0
            pfn &= buddyPfn
            order += 1
        }
        if order == Buddy.maxOrder {
            phys.dematerialize(Int(pfn >> 10), state: ChunkState.free)
            listAdd(z, pfn, order, tail: toTail)
            return
        }
        let h = phys.mframe(pfn)
        h.pointee = Frame(kind: Frame.freeHead, order: UInt8(order), flags: 0, owner: Owner.free, a: 0, b: 0)
        var tail = toTail
        if !tail && mergeToTail && order < Buddy.maxOrder - 1 {
            // buddy_merge_likely(): is the buddy of the next-order block free?
            let higher = buddyPfn & pfn
            let higherBuddy = higher ^ (1 << UInt64(order + 1))
            tail = isFreeBlock(higherBuddy, order + 1, z)
        }
        listAdd(z, pfn, order, tail: tail)
    }

    /// Takes a specific free block of exactly `order` off its list (used when
    /// building the aged machine).
    func take(_ pfn: UInt64, _ order: Int) {
        listDel(zone(of: pfn), pfn, order)
        if order == Buddy.maxOrder { phys.materialize(Int(pfn >> 10)) }
    }

    /// Where does the free block containing `pfn` start, and what order is it?
    /// nil if the frame is not free.
    func freeBlock(containing pfn: UInt64) -> (UInt64, Int)? {
        var f = phys.frame(pfn)
        if f.kind != Frame.freeHead && f.kind != Frame.freeTail { return nil }
        for o in 0...Buddy.maxOrder {
            let start = pfn & ~((1 << UInt64(o)) - 1)
            f = phys.frame(start)
            if f.kind == Frame.freeHead && Int(f.order) >= o && start + (1 << UInt64(f.order)) > pfn {
                return (start, Int(f.order))
            }
        }
        return nil
    }

    var totalFree: Int { zones.reduce(0) { $0 + $1.freePages } }
}
