/// ALLOC_* flags of mm/internal.h that matter here.
struct AllocMode: OptionSet {
    let rawValue: UInt32
    static let wmarkMin = AllocMode(rawValue: 1)
    static let wmarkLow = AllocMode(rawValue: 2)
    static let noWatermarks = AllocMode(rawValue: 4)
    /// ALLOC_MIN_RESERVE (__GFP_HIGH; "ALLOC_HIGH" in 2.6).
    static let minReserve = AllocMode(rawValue: 8)
    /// ALLOC_NON_BLOCK ("ALLOC_HARDER" in 2.6).
    static let nonBlock = AllocMode(rawValue: 16)
    static let highatomic = AllocMode(rawValue: 32)
    static let kswapd = AllocMode(rawValue: 64)
    static let wmarkHigh = AllocMode(rawValue: 128)
    static let reserves: AllocMode = [.minReserve, .nonBlock, .highatomic]
}

/// The page cache's LRU: oldest first. Entries are allocated blocks owned by
/// "pagecache"; reclaim frees from the front.
final class PageCacheLRU {
    /// pfn << 4 | order, or `removed`.
    var entries: [UInt64] = []
    var head = 0
    var live = 0
    static let removed = UInt64.max

    func append(_ pfn: UInt64, _ order: Int) -> UInt32 {
        entries.append(pfn << 4 | UInt64(order))
        live += 1
        return UInt32(entries.count - 1)
    }
}

extension Machine {
    // MARK: zones for a request

    /// gfp_zone(): the highest zone a request may use (GFP_ZONE_TABLE; an
    /// invalid combination gives ZONE_DMA, as the table holds 0 there).
    func gfpZoneIndex(_ gfp: GFP) -> Int {
        let bits = gfp.rawValue & 0x0F
        let x64 = layout.arch == .x86_64
        let t: ZoneType
        switch bits {
        case 0x0, 0x8: t = .normal
        case 0x1, 0x9: t = .dma
        case 0x2: t = x64 ? .normal : .highmem
        case 0x4, 0xC: t = x64 ? .dma32 : .normal
        case 0xA: t = .movable
        default: t = .dma
        }
        return layout.zoneIndex(t) ?? 0
    }

    /// Zones to try, preferred first: from `highest` down to ZONE_DMA,
    /// populated ones only (the node's zonelist).
    @inline(__always) func zonelist(_ highest: Int) -> [Zone] { zonelists[min(highest, zonelists.count - 1)] }

    /// __zone_watermark_ok() of the era.
    func watermarkOK(_ z: Zone, _ order: Int, _ mark: Int, _ highest: Int, _ mode: AllocMode) -> Bool {
        var freePages = z.freePages - ((1 << order) - 1)
        var min = mark
        let reserve = highest < z.lowmemReserve.count ? z.lowmemReserve[highest] : 0
        if config.era == .v2_6 {
            if mode.contains(.minReserve) { min -= min / 2 }
            if mode.contains(.nonBlock) { min -= min / 4 }
            if freePages <= min + reserve { return false }
            var o = 0
            while o < order {
                freePages -= z.nrFree[o] << o
                min >>= 1
                if freePages <= min { return false }
                o += 1
            }
            return true
        }
        if !mode.isDisjoint(with: .reserves) && mode.contains(.minReserve) {
            min -= min / 2
            if mode.contains(.nonBlock) { min -= min / 4 }
        }
        if freePages <= min + reserve { return false }
        if order == 0 { return true }
        for o in order...Buddy.maxOrder where z.nrFree[o] > 0 { return true }
        return false
    }

    /// get_page_from_freelist(): the first zone of the zonelist that passes
    /// its watermark and has a block.
    func getPageFromFreelist(_ order: Int, _ highest: Int, _ mode: AllocMode) -> UInt64? {
        for z in zonelist(highest) {
            if !mode.contains(.noWatermarks) {
                let mark = mode.contains(.wmarkHigh) ? z.wmarkHigh : mode.contains(.wmarkLow) ? z.wmarkLow : z.wmarkMin
                if !watermarkOK(z, order, mark, highest, mode) { continue }
            }
            if let pfn = buddy.rmqueue(z, order) {
                // zone_statistics(): one node, so every allocation is a local hit.
                z.numaHits &+= 1
                return pfn
            }
        }
        return nil
    }

    /// gfp_to_alloc_flags() (6.x) / the 2.6 equivalent.
    func slowpathMode(_ gfp: GFP, _ order: Int) -> AllocMode {
        var m: AllocMode = [.wmarkMin]
        if gfp.contains(.high) { m.insert(.minReserve) }
        if gfp.contains(.kswapdReclaim) { m.insert(.kswapd) }
        if !gfp.allowsBlocking {
            if config.era == .v2_6 {
                m.insert(.nonBlock)
            } else if !gfp.contains(.nomemalloc) {
                m.insert(.nonBlock)
                if order > 0 { m.insert(.highatomic) }
            }
        }
        return m
    }

    // MARK: the allocator

    /// __alloc_pages(): a block of 2^order frames, or nil (after the
    /// allocation-failure warning unless __GFP_NOWARN). The block is off the
    /// free lists but not yet marked: callers use `allocPagesInternal`.
    func allocPagesRaw(_ gfp: GFP, _ order: Int) -> UInt64? {
        // After an OOM panic nothing runs any more.
        if oomPanic != nil { return nil }
        if order > Buddy.maxOrder || order < 0 {
            // 2.6.18 alloc_pages_node(): `if (unlikely(order >= MAX_ORDER))
            // return NULL;` before anything could warn.
            if !gfp.contains(.nowarn) && config.era == .v6 {
                warnOnce("order", site: KernelSite.orderTooLarge, function: "__alloc_pages")
            }
            stats.allocFailures += 1
            return nil
        }
        if shouldFailAllocPage(gfp, order) {
            stats.allocFailures += 1
            return nil
        }
        runKswapdIfPending()
        let highest = gfpZoneIndex(gfp)
        if let pfn = getPageFromFreelist(order, highest, [.wmarkLow]) { return pfn }

        // Slow path.
        let mode = slowpathMode(gfp, order)
        if mode.contains(.kswapd) { wakeKswapd(order, highest) }
        if let pfn = getPageFromFreelist(order, highest, mode) { return pfn }
        if gfp.contains(.memalloc) && !gfp.contains(.nomemalloc),
           let pfn = getPageFromFreelist(order, highest, [.noWatermarks]) { return pfn }
        if !gfp.allowsBlocking { return allocFailed(gfp, order) }

        let costly = order > 3
        let zs = zonelist(highest)
        let canCompact = config.era == .v6 && order > 0
        if canCompact && costly {
            if compact(order, zs), let pfn = getPageFromFreelist(order, highest, mode) { return pfn }
            if gfp.contains(.noretry) { return allocFailed(gfp, order) }
        }
        var rounds = 0
        var killedCurrent = false
        while true {
            rounds += 1
            let reclaimed = directReclaim(order, highest)
            if let pfn = getPageFromFreelist(order, highest, mode) { return pfn }
            var compacted = false
            if canCompact {
                compacted = compact(order, zs)
                if compacted, let pfn = getPageFromFreelist(order, highest, mode) { return pfn }
            }
            if gfp.contains(.noretry) && config.era == .v6 { break }
            if reclaimed == 0 && !compacted && !killedCurrent && oomAllowed(gfp, order, highest) {
                // "Reclaim has failed us, start killing things": first one
                // more try at the high watermark (only a parallel kill could
                // have freed memory), then out_of_memory() and a retry.
                if let pfn = getPageFromFreelist(order, highest, [.wmarkHigh]) { return pfn }
                switch outOfMemory(gfp, order) {
                case .killed(let victim):
                    // An OOM victim's own allocations are not retried through
                    // the OOM killer again (tsk_is_oom_victim(current): nopage).
                    killedCurrent = victim.task === contexts.current
                    rounds = 0
                    if let pfn = getPageFromFreelist(order, highest, mode) { return pfn }
                    continue
                case .panicked:
                    stats.allocFailures += 1
                    return nil
                case .nothing:
                    break
                }
            }
            if gfp.contains(.noretry) { break }
            if costly && !gfp.contains(.retryMayfail) && rounds >= 2 { break }
            if reclaimed == 0 && !compacted {
                if gfp.contains(.nofail) {
                    // __alloc_pages_cpuset_fallback(): the reserves are the last resort.
                    if let pfn = getPageFromFreelist(order, highest, [.noWatermarks]) { return pfn }
                }
                break
            }
        }
        return allocFailed(gfp, order)
    }

    private func allocFailed(_ gfp: GFP, _ order: Int) -> UInt64? {
        stats.allocFailures += 1
        if !gfp.contains(.nowarn) {
            warnAlloc(gfp, "page allocation failure: order:\(order)")
        }
        return nil
    }

    /// Allocates, marks the frames as `owner`'s, zeroes for __GFP_ZERO.
    func allocPagesInternal(_ gfp: GFP, order: Int, owner: UInt32, flags: UInt16 = 0, aux: UInt32 = 0) -> UInt64? {
        guard let pfn = allocPagesRaw(gfp, order) else { return nil }
        buddy.markAllocated(pfn, order, owner: owner, flags: flags, aux: aux)
        let n = UInt64(1) << UInt64(order)
        stats.pageAllocs += 1
        charge(Cost.pageAlloc + Cost.pageAllocPerOrder * UInt64(order))
        if gfp.contains(.zero) {
            for i in 0..<n { phys.zeroFrame(pfn + i) }
            charge(Cost.zeroPerKiB * 4 * n)
        }
        return pfn
    }

    /// __free_pages() of a block known to be allocated with this order.
    func freePagesInternal(_ pfn: UInt64, order: Int) {
        buddy.free(pfn, order)
        stats.pageFrees += 1
        charge(Cost.pageFree)
    }

    // MARK: reclaim

    func wakeKswapd(_ order: Int, _ classzone: Int) {
        kswapdPending = true
        kswapdClasszone = max(kswapdClasszone, classzone)
    }

    /// kswapd runs between calls: it reclaims page cache until every zone up
    /// to the requested class zone is above its high watermark.
    func runKswapdIfPending() {
        guard kswapdPending else { return }
        kswapdPending = false
        let top = min(kswapdClasszone, zones.count - 1)
        kswapdClasszone = 0
        for z in zones[0...top] where z.populated {
            while z.freePages < z.wmarkHigh && z.pagecache > 0 {
                let got = reclaimPageCache(target: 32, maxZone: z.index, only: z)
                stats.kswapdReclaimed += UInt64(got)
                if got == 0 { break }
            }
        }
    }

    /// try_to_free_pages(): direct reclaim of at least SWAP_CLUSTER_MAX pages
    /// (or the request's size) from zones the request may use.
    func directReclaim(_ order: Int, _ highest: Int) -> Int {
        let got = reclaimPageCache(target: max(32, 1 << order), maxZone: highest, only: nil)
        stats.directReclaimed += UInt64(got)
        return got
    }

    /// Frees page-cache blocks from the oldest end of the LRU.
    func reclaimPageCache(target: Int, maxZone: Int, only: Zone?) -> Int {
        var freed = 0
        var i = lru.head
        while i < lru.entries.count && freed < target {
            let e = lru.entries[i]
            if e != PageCacheLRU.removed {
                let pfn = e >> 4, order = Int(e & 0xF)
                let z = buddy.zone(of: pfn)
                let ok = only.map { $0 === z } ?? (z.index <= maxZone)
                if ok {
                    dropPageCache(slot: i)
                    freed += 1 << order
                }
            }
            i += 1
        }
        while lru.head < lru.entries.count && lru.entries[lru.head] == PageCacheLRU.removed { lru.head += 1 }
        compactLRUIfNeeded()
        charge(Cost.reclaimPerPage * UInt64(freed))
        return freed
    }

    /// Removes LRU entry `slot` and frees its block.
    func dropPageCache(slot i: Int) {
        let e = lru.entries[i]
        guard e != PageCacheLRU.removed else { return }
        let pfn = e >> 4, order = Int(e & 0xF)
        lru.entries[i] = PageCacheLRU.removed
        lru.live -= 1
        buddy.zone(of: pfn).pagecache -= 1 << order
        buddy.free(pfn, order)
        stats.pagesReclaimed += UInt64(1 << order)
    }

    func compactLRUIfNeeded() {
        if lru.live == 0 {
            lru.entries.removeAll(keepingCapacity: true)
            lru.head = 0
            return
        }
        guard lru.head > 4096 && lru.head * 2 > lru.entries.count else { return }
        var out: [UInt64] = []
        out.reserveCapacity(lru.live)
        for i in lru.head..<lru.entries.count where lru.entries[i] != PageCacheLRU.removed {
            let e = lru.entries[i]
            setPageCacheSlot(e >> 4, Int(e & 0xF), UInt32(out.count))
            out.append(e)
        }
        lru.entries = out
        lru.head = 0
    }

    func setPageCacheSlot(_ pfn: UInt64, _ order: Int, _ slot: UInt32) {
        if order == Buddy.maxOrder {
            phys.chunkAux[Int(pfn >> 10)] = slot
        } else {
            phys.mframe(pfn).pointee.a = slot
        }
    }

    /// Adds a block to the page cache (allocated as GFP_HIGHUSER_MOVABLE).
    @discardableResult
    func addPageCache(order: Int, gfp: GFP = [.highuserMovable, .nowarn, .noretry]) -> Bool {
        guard let pfn = allocPagesRaw(gfp, order) else { return false }
        let slot = lru.append(pfn, order)
        buddy.markAllocated(pfn, order, owner: Owner.pagecache, flags: PG.lru | PG.uptodate | PG.mappedtodisk,
                            aux: slot)
        buddy.zone(of: pfn).pagecache += 1 << order
        return true
    }

    /// Direct compaction, simplified: find an aligned block of 2^order
    /// frames that holds only free and page-cache frames and reclaim the
    /// page cache in it (real compaction migrates those pages instead).
    func compact(_ order: Int, _ zs: [Zone]) -> Bool {
        stats.compactions += 1
        let size = 1 << order
        for z in zs {
            var c = Int(z.start >> 10)
            let cEnd = Int((z.end + 1023) >> 10)
            while c < cEnd && c < phys.nChunks {
                defer { c += 1 }
                let st = phys.chunkState[c]
                if st == ChunkState.whole && phys.chunkOwner[c] == Owner.pagecache {
                    dropPageCache(slot: Int(phys.chunkAux[c]))
                    charge(Cost.compactPerPage * 1024)
                    return true
                }
                guard st == ChunkState.materialized, let f = phys.frames[c] else { continue }
                var b = 0
                while b < 1024 {
                    var ok = true, cache = false
                    for i in b..<(b + size) {
                        let fr = f[i]
                        if fr.kind == Frame.freeHead || fr.kind == Frame.freeTail { continue }
                        if (fr.kind == Frame.allocHead || fr.kind == Frame.allocTail) && fr.owner == Owner.pagecache {
                            cache = true
                            continue
                        }
                        ok = false
                        break
                    }
                    if ok && cache {
                        let base = UInt64(c) << 10
                        for i in b..<(b + size) {
                            let fr = f[i]
                            if fr.owner != Owner.pagecache { continue }
                            let head = fr.kind == Frame.allocHead ? base + UInt64(i) : UInt64(fr.a)
                            let hf = phys.frame(head)
                            if hf.kind == Frame.allocHead && hf.owner == Owner.pagecache {
                                dropPageCache(slot: Int(hf.a))
                            }
                            if phys.frames[c] == nil { break }
                        }
                        charge(Cost.compactPerPage * UInt64(size))
                        return true
                    }
                    b += size
                }
            }
        }
        return false
    }
}
