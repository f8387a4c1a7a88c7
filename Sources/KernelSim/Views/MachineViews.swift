/// Reads the machine's internals for the pictures (memmap, buddyinfo bars):
/// the frame metadata chunk by chunk (a chunk kept whole is one owner for
/// its 1024 frames, so a 64 GiB machine costs no per-frame walk), the zones
/// and the vmalloc areas. Read only: drawing never changes the machine.
extension Machine {
    /// The picture model of physical memory; `columns` cells per row, and at
    /// most about `targetRows` rows (cells grow by powers of two to fit).
    public func memoryMap(columns: Int = 64, targetRows: Int = 32) -> MemoryMap {
        let cols = max(8, min(columns, 512))
        let total = layout.totalPages
        var perCell: UInt64 = 1
        let wanted = total / UInt64(cols * max(4, targetRows)) + (total % UInt64(cols * max(4, targetRows)) == 0 ? 0 : 1)
        while perCell < wanted { perCell <<= 1 }

        // dma_alloc_coherent buffers come from the page allocator (owner
        // "alloc_pages"); the devices' dma-debug entries say which frames
        // they are, so the picture can mark them D as help(memmap) says.
        let coherent = contexts.pciDevices.flatMap { dev in
            dev.mappings.filter { $0.kind == .coherent }.flatMap(\.ownedPfns)
        }.sorted()
        var ownerCategory: [UInt32: MemoryCategory] = [:]
        var totals = [UInt64](repeating: 0, count: MemoryCategory.allCases.count)
        var rows: [MemoryMap.Row] = []
        for z in zones where z.end > z.start {
            var rowStart = z.start
            var first = true
            while rowStart < z.end {
                var cells: [MemoryMap.Cell] = []
                var cellStart = rowStart
                while cells.count < cols && cellStart < z.end {
                    let cellEnd = min(z.end, cellStart &+ perCell)
                    var counts = [UInt64](repeating: 0, count: MemoryCategory.allCases.count)
                    countCategories(cellStart, cellEnd, into: &counts, cache: &ownerCategory)
                    MemoryMap.recount(&counts, as: .dma, from: .pages, pfns: coherent, in: cellStart..<cellEnd)
                    for i in counts.indices { totals[i] &+= counts[i] }
                    cells.append(MemoryMap.cell(counts, frames: cellEnd - cellStart))
                    cellStart = cellEnd
                }
                rows.append(MemoryMap.Row(zone: z.name, startsZone: first, firstPfn: rowStart, cells: cells))
                first = false
                rowStart = cellStart
            }
        }
        var frameCounts: [MemoryCategory: UInt64] = [:]
        for c in MemoryCategory.allCases where totals[c.rawValue] > 0 { frameCounts[c] = totals[c.rawValue] }
        // The script's own areas: the kernel's boot-time users are counted
        // in the frame categories but not drawn one by one.
        let areas = scriptVmAreas.map {
            MemoryMap.VmallocArea(start: $0.start, size: $0.size, caller: $0.caller, pfns: $0.pages)
        }
        return MemoryMap(totalPages: total, framesPerCell: perCell, columns: cols, rows: rows,
                         frameCounts: frameCounts, vmallocAreas: areas, vmallocStart: layout.vmallocStart,
                         vmallocEnd: layout.vmallocEnd, addressDigits: layout.pointerSize * 2)
    }

    /// Adds the frames of [from, to) to `counts` by category.
    func countCategories(_ from: UInt64, _ to: UInt64, into counts: inout [UInt64],
                         cache: inout [UInt32: MemoryCategory]) {
        var pfn = from
        while pfn < to {
            let c = Int(truncatingIfNeeded: pfn >> 10)
            let chunkEnd = min(to, UInt64(c + 1) << 10)
            if pfn >= layout.totalPages {
                counts[MemoryCategory.hole.rawValue] &+= to - pfn
                return
            }
            if phys.frameIfMaterialized(pfn) == nil {
                // A chunk kept whole: every frame has the first frame's owner.
                let cat = category(of: phys.frame(pfn), cache: &cache)
                counts[cat.rawValue] &+= chunkEnd - pfn
            } else {
                var p = pfn
                while p < chunkEnd {
                    counts[category(of: phys.frame(p), cache: &cache).rawValue] &+= 1
                    p &+= 1
                }
            }
            pfn = chunkEnd
        }
    }

    func category(of f: Frame, cache: inout [UInt32: MemoryCategory]) -> MemoryCategory {
        switch f.kind {
        case Frame.freeHead, Frame.freeTail: return .free
        case Frame.reserved: return .reserved
        case Frame.hole: return .hole
        default: break
        }
        // A script's user pages are swap-backed anonymous memory; the aged
        // machine's other processes' pages are not (Boot's aging).
        if f.owner == Owner.user { return f.flags & PG.swapbacked != 0 ? .user : .otherUser }
        if let c = cache[f.owner] { return c }
        let c: MemoryCategory
        switch f.owner {
        case Owner.free: c = .free
        case Owner.reserved: c = .reserved
        case Owner.pages: c = .pages
        case Owner.vmalloc: c = .vmalloc
        case Owner.user: c = .user
        case Owner.pagecache: c = .pagecache
        case Owner.pagetable: c = .pagetable
        case Owner.kmallocLarge: c = .kmallocLarge
        case Owner.kernel: c = .kernel
        default:
            // Owners added later (DMA coherent buffers, ...) are grouped by name.
            let name = ownerName(f.owner).lowercased()
            if name.contains("dma") { c = .dma } else if name.hasPrefix("slab") { c = .slab } else { c = .pages }
        }
        cache[f.owner] = c
        return c
    }

    /// Free blocks per zone and order, as /proc/buddyinfo counts them.
    public func buddyChart() -> BuddyChart {
        BuddyChart(zones: zones.filter { $0.populated }.map {
            BuddyChart.Zone(name: $0.name, freeBlocks: Array($0.nrFree.prefix(Buddy.maxOrder + 1)))
        })
    }
}

extension MemoryMap {
    /// Moves the frames of `pfns` (sorted) that fall in `range` from
    /// `category` to `target` (never below zero).
    static func recount(_ counts: inout [UInt64], as target: MemoryCategory, from category: MemoryCategory,
                        pfns: [UInt64], in range: Range<UInt64>) {
        guard !pfns.isEmpty else { return }
        var lo = 0, hi = pfns.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pfns[mid] < range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var n: UInt64 = 0
        while lo < pfns.count && pfns[lo] < range.upperBound { n += 1; lo += 1 }
        let moved = min(n, counts[category.rawValue])
        counts[category.rawValue] -= moved
        counts[target.rawValue] &+= moved
    }

    /// Picks a cell's owner. Kernel allocations a script makes (slab,
    /// kmalloc-large, alloc_pages, vmalloc, DMA) win over user pages and
    /// page tables, which win over
    /// the background (page cache, other kernel memory, reserved), so one
    /// vmalloc page among a cell of page cache still shows (as `v`); within
    /// a tier the owner with the most frames wins (ties: the lower
    /// category). Free only when nothing in the cell is allocated.
    static func cell(_ counts: [UInt64], frames: UInt64) -> Cell {
        var used: UInt64 = 0
        for c in MemoryCategory.allCases where c != .free && c != .hole { used &+= counts[c.rawValue] }
        for tier in MemoryCategory.tiers {
            var best: MemoryCategory?
            var bestCount: UInt64 = 0
            for c in tier where counts[c.rawValue] > bestCount { best = c; bestCount = counts[c.rawValue] }
            if let best { return Cell(category: best, full: bestCount * 2 >= frames, usedFrames: used) }
        }
        let holes = counts[MemoryCategory.hole.rawValue]
        if holes > 0 && holes * 2 >= frames { return Cell(category: .hole, full: true, usedFrames: 0) }
        return Cell(category: .free, full: true, usedFrames: 0)
    }
}

extension MemoryCategory {
    /// Precedence groups for a cell's owner, first wins (see `MemoryMap.cell`).
    static let tiers: [[MemoryCategory]] = [
        [.slab, .kmallocLarge, .pages, .vmalloc, .dma],
        [.user, .pagetable],
        [.pagecache, .otherUser, .kernel, .reserved],
    ]
}
