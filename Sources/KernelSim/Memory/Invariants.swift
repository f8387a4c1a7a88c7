/// Consistency checks of the allocator state, for tests and debugging.
extension Machine {
    /// Everything that should hold between the free lists, the frames, the
    /// slabs, the vmalloc areas and /proc/buddyinfo. Returns the violations
    /// (empty when all is well). Cost is linear in RAM: use small machines.
    public func checkInvariants() -> [String] {
        var bad: [String] = []
        func fail(_ s: String) { if bad.count < 50 { bad.append(s) } }

        // 1. Free lists: every entry is a free head of that order in that zone.
        var listed = Set<UInt64>()
        for z in zones {
            var total = 0
            for o in 0...Buddy.maxOrder {
                var n = 0
                var pfn = z.head[o]
                var prev = Buddy.none
                while pfn != Buddy.none {
                    if n > 1 << 28 { fail("zone \(z.name) order \(o): list does not end"); break }
                    let f = phys.frame(pfn)
                    if f.kind != Frame.freeHead || Int(f.order) != o { fail("pfn \(hex(pfn)) on order-\(o) list is not a free head of that order") }
                    if !z.contains(pfn) { fail("pfn \(hex(pfn)) on \(z.name) list is outside the zone") }
                    if pfn & ((1 << UInt64(o)) - 1) != 0 { fail("pfn \(hex(pfn)) misaligned for order \(o)") }
                    if listed.contains(pfn) { fail("pfn \(hex(pfn)) listed twice") }
                    listed.insert(pfn)
                    let p: UInt64
                    if o == 10 {
                        let v = phys.chunkPrev[Int(pfn >> 10)]
                        p = v == Frame.none ? Buddy.none : UInt64(v) << 10
                    } else {
                        let v = phys.frame(pfn).b
                        p = v == Frame.none ? Buddy.none : UInt64(v)
                    }
                    if p != prev { fail("pfn \(hex(pfn)) has a wrong prev link") }
                    prev = pfn
                    n += 1
                    if o == 10 {
                        let v = phys.chunkNext[Int(pfn >> 10)]
                        pfn = v == Frame.none ? Buddy.none : UInt64(v) << 10
                    } else {
                        let v = phys.frame(pfn).a
                        pfn = v == Frame.none ? Buddy.none : UInt64(v)
                    }
                }
                if z.tail[o] != prev { fail("zone \(z.name) order \(o): tail does not match") }
                if n != z.nrFree[o] { fail("zone \(z.name) order \(o): nr_free \(z.nrFree[o]) but \(n) on the list") }
                total += n << o
            }
            if total != z.freePages { fail("zone \(z.name): NR_FREE_PAGES \(z.freePages) but lists hold \(total)") }
        }

        // 2. Frames: blocks are well formed, every free head is listed, no
        //    frame is both free and owned (a free block's frames are all free
        //    tails; an allocated block's frames all name its head and owner).
        var freeFrames = [Int](repeating: 0, count: zones.count)
        var recordedHeads = (large: 0, pages: 0)
        func countHead(_ owner: UInt32) {
            if owner == Owner.kmallocLarge { recordedHeads.large += 1 }
            if owner == Owner.pages { recordedHeads.pages += 1 }
        }
        var pfn: UInt64 = 0
        let n = layout.totalPages
        while pfn < n {
            let c = Int(pfn >> 10)
            if phys.frames[c] == nil {
                let st = phys.chunkState[c]
                if st == ChunkState.free {
                    if !listed.contains(pfn) { fail("free chunk \(hex(pfn)) is not on a list") }
                    freeFrames[buddy.zone(of: pfn).index] += 1024
                } else if st == ChunkState.whole {
                    countHead(phys.chunkOwner[c])
                } else if st == ChunkState.materialized {
                    fail("chunk \(c) says materialized but has no frames")
                }
                pfn += 1024
                continue
            }
            let f = phys.frame(pfn)
            switch f.kind {
            case Frame.freeHead:
                let size = UInt64(1) << UInt64(f.order)
                if !listed.contains(pfn) { fail("free block \(hex(pfn)) order \(f.order) is not on its list") }
                if f.owner != Owner.free { fail("free block \(hex(pfn)) has an owner") }
                if pfn & (size - 1) != 0 { fail("free block \(hex(pfn)) is misaligned") }
                for i in 1..<max(1, size) {
                    let t = phys.frame(pfn + i)
                    if t.kind != Frame.freeTail { fail("frame \(hex(pfn + i)) inside free block \(hex(pfn)) is not free"); break }
                }
                freeFrames[buddy.zone(of: pfn).index] += Int(size)
                pfn += size
            case Frame.allocHead:
                let size = UInt64(1) << UInt64(f.order)
                if f.owner == Owner.free { fail("allocated block \(hex(pfn)) has no owner") }
                countHead(f.owner)
                for i in 1..<max(1, size) {
                    let t = phys.frame(pfn + i)
                    if t.kind != Frame.allocTail || UInt64(t.a) != pfn || t.owner != f.owner {
                        fail("frame \(hex(pfn + i)) is not a tail of block \(hex(pfn))")
                        break
                    }
                }
                pfn += size
            case Frame.freeTail:
                fail("free tail \(hex(pfn)) outside any free block")
                pfn += 1
            case Frame.allocTail:
                fail("tail \(hex(pfn)) outside its block")
                pfn += 1
            default:
                pfn += 1
            }
        }
        for z in zones where freeFrames[z.index] != z.freePages {
            fail("zone \(z.name): frames say \(freeFrames[z.index]) free, NR_FREE_PAGES says \(z.freePages)")
        }

        // 3. /proc/buddyinfo agrees with the lists.
        for line in buddyinfo().split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 4 + 11, let z = zones.first(where: { $0.name == parts[3] }) else {
                fail("buddyinfo line malformed: \(line)")
                continue
            }
            for o in 0...10 where Int(parts[4 + o]) != z.nrFree[o] {
                fail("buddyinfo \(z.name) order \(o) says \(parts[4 + o]), lists hold \(z.nrFree[o])")
            }
        }

        // 4. Slabs: frames belong to their slab; counts add up; every live
        //    object is inside a live slab.
        for c in slab.caches {
            var slabs = 0, objs = 0, inuse = 0
            for si in 0..<c.slabState.count where c.slabState[si] != 0 {
                slabs += 1
                let nobj = Int(c.slabObjects[si])
                objs += nobj
                let head = c.slabPfn[si]
                let hf = phys.frame(head)
                if hf.kind != Frame.allocHead || hf.owner != c.owner || Int(hf.a) != si || Int(hf.order) != Int(c.slabOrder[si]) {
                    fail("\(c.name) slab \(si) at pfn \(hex(head)) is not a slab page of this cache")
                }
                var live = 0
                for o in 0..<nobj where c.objReq[si * c.objsPerSlab + o] >= 0 { live += 1 }
                if live != Int(c.slabInuse[si]) { fail("\(c.name) slab \(si): inuse \(c.slabInuse[si]) but \(live) live objects") }
                inuse += live
                var free = 0
                var seen = Set<Int32>()
                // The CPU's freelist and, for a CPU slab, the objects other
                // CPUs freed into the slab's own freelist.
                for head in [c.slabFree[si], c.remoteFree[si]] {
                    var o = head
                    while o >= 0 {
                        if seen.contains(o) || Int(o) >= nobj { fail("\(c.name) slab \(si): freelist corrupt"); break }
                        seen.insert(o)
                        if c.objReq[si * c.objsPerSlab + Int(o)] >= 0 { fail("\(c.name) slab \(si): live object \(o) on the freelist") }
                        free += 1
                        o = c.objNext[si * c.objsPerSlab + Int(o)]
                    }
                }
                if c.remoteFree[si] >= 0 && c.slabState[si] != 1 { fail("\(c.name) slab \(si): remote frees on a slab no CPU owns") }
                if free + live != nobj { fail("\(c.name) slab \(si): \(free) free + \(live) live != \(nobj)") }
                let state = c.slabState[si]
                if state == 3 && free != 0 { fail("\(c.name) slab \(si) is full but has free objects") }
                if state == 2 && !c.partial.contains(Int32(si)) { fail("\(c.name) slab \(si) partial but not listed") }
                if state == 1 && !c.isSomeCPUsSlab(si) { fail("\(c.name) slab \(si) says cpu slab") }
            }
            if slabs != c.nrSlabs || objs != c.totalObjects || inuse != c.inuse {
                fail("\(c.name): counters \(c.nrSlabs)/\(c.totalObjects)/\(c.inuse) but slabs say \(slabs)/\(objs)/\(inuse)")
            }
        }

        // 5. vmalloc: pages are vmalloc frames of the area, mapped by its PTEs.
        for a in vm.areas {
            if a.pageBacked, a.pages.count != Int((a.size >> 12) - 1) { fail("vmalloc area \(hex(a.start)): wrong page count") }
            for (i, p) in a.pages.enumerated() {
                let f = phys.frame(p)
                if f.kind != Frame.allocHead || f.owner != Owner.vmalloc || Int32(bitPattern: f.a) != a.id {
                    fail("vmalloc area \(hex(a.start)) page \(i) (pfn \(hex(p))) is not its frame")
                }
                if walk(a.start &+ UInt64(i) << 12).paddr.map({ $0 >> 12 }) != p {
                    fail("vmalloc area \(hex(a.start)) page \(i) is not mapped to pfn \(hex(p))")
                }
            }
            if walk(a.end &- 4096).paddr != nil { fail("vmalloc area \(hex(a.start)): guard page is mapped") }
        }

        // 6. Page allocator records: every large kmalloc and alloc_pages block
        //    is an allocated head of that owner, and the other way round.
        for (pfn, _) in largeKmallocs {
            let f = phys.frame(pfn)
            if f.kind != Frame.allocHead || f.owner != Owner.kmallocLarge { fail("large kmalloc \(hex(pfn)) is not a kmalloc-large block") }
        }
        for (pfn, _) in pageAllocations {
            let f = phys.frame(pfn)
            if f.kind != Frame.allocHead || f.owner != Owner.pages { fail("alloc_pages block \(hex(pfn)) is not a pages block") }
        }
        if recordedHeads.large != largeKmallocs.count || recordedHeads.pages != pageAllocations.count {
            fail("heads: \(recordedHeads.large) kmalloc-large / \(recordedHeads.pages) pages blocks, but \(largeKmallocs.count) / \(pageAllocations.count) recorded")
        }

        // 7. Page cache: every live LRU entry is a page-cache block.
        var cache = [Int](repeating: 0, count: zones.count)
        for i in lru.head..<lru.entries.count where lru.entries[i] != PageCacheLRU.removed {
            let e = lru.entries[i]
            let p = e >> 4
            let f = phys.frame(p)
            if f.kind != Frame.allocHead || f.owner != Owner.pagecache || Int(f.order) != Int(e & 0xF) {
                fail("LRU entry \(i) (pfn \(hex(p))) is not a page-cache block")
            }
            let slot = Int(e & 0xF) == 10 ? phys.chunkAux[Int(p >> 10)] : f.a
            if Int(slot) != i { fail("LRU entry \(i) (pfn \(hex(p))) records slot \(slot)") }
            cache[buddy.zone(of: p).index] += 1 << Int(e & 0xF)
        }
        for z in zones where cache[z.index] != z.pagecache {
            fail("zone \(z.name): page cache \(z.pagecache) but LRU holds \(cache[z.index])")
        }
        return bad
    }
}
