import Synchronization
import SeededRandom
/// Booting: the e820 map, memblock reservations, handing free memory to the
/// buddy allocator, watermarks, the direct map, an initial page cache and,
/// for `fragmented`, the aging of the machine. Cost is flat in RAM size:
/// free 4 MiB chunks are linked into the order-10 lists without per-frame
/// metadata.
extension Machine {
    struct Reserved {
        var start: UInt64
        var end: UInt64
        var detail: ReservedDetail
        var hole: Bool
    }

    func bootReservations() -> [Reserved] {
        let n = layout.totalPages
        var r: [Reserved] = [
            Reserved(start: 0, end: 1, detail: .hole, hole: true),
            Reserved(start: 0x9f, end: 0x100, detail: .hole, hole: true),
        ]
        if config.era == .v6 {
            // 5.13+: always reserve the first 1 MiB (x86/setup).
            r.append(Reserved(start: 1, end: 0x9f, detail: .firmware, hole: false))
        }
        let ks = layout.kernelPhysStart >> 12, ke = layout.kernelPhysEnd >> 12
        r.append(Reserved(start: ks, end: ke - 16, detail: .kernelImage, hole: false))
        r.append(Reserved(start: ke - 16, end: ke, detail: .pageTables, hole: false))
        r.append(Reserved(start: layout.memmapPfnStart, end: layout.memmapPfnEnd, detail: .memmap, hole: false))
        if let t = Machine.swiotlbRange(config) {
            // swiotlb_init_remap(): memblock_alloc_low() takes the top 64 MiB below 4 GiB.
            r.append(Reserved(start: t.start >> 12, end: t.end >> 12, detail: .swiotlb, hole: false))
        }
        return r.filter { $0.start < n }.map { var x = $0; x.end = min(x.end, n); return x }
    }

    func boot() {
        let res = bootReservations()
        bootTableNext = layout.kernelPhysEnd >> 12 - 16
        bootTableEnd = layout.kernelPhysEnd >> 12

        // Zone accounting.
        for z in zones where z.end > z.start {
            if z.type == .dma { z.reportedStart = 1 }
            var holes: UInt64 = 0, reserved: UInt64 = 0
            for r in res {
                let lo = max(r.start, z.start), hi = min(r.end, z.end)
                if lo < hi { if r.hole { holes += hi - lo } else { reserved += hi - lo } }
            }
            z.present = z.end - z.start - holes
            z.managed = z.present - reserved
            presentPages += z.present
            reservedPages += reserved
        }

        // Hand free memory to the buddy allocator in increasing pfn order
        // (memblock_free_all → __free_pages_core with FPI_TO_TAIL).
        let n = layout.totalPages
        for c in 0..<phys.nChunks {
            let base = UInt64(c) << 10
            let end = min(base + 1024, n)
            var overlapping: [Reserved] = []
            for r in res where r.start < end && r.end > base { overlapping.append(r) }
            if overlapping.isEmpty && end == base + 1024 {
                phys.chunkState[c] = ChunkState.free
                buddy.listAdd(buddy.zone(of: base), base, Buddy.maxOrder, tail: true)
                continue
            }
            if overlapping.count == 1, let r = overlapping.first, r.start <= base, r.end >= base + 1024, !r.hole {
                phys.chunkState[c] = ChunkState.reserved
                phys.chunkOwner[c] = r.detail.rawValue
                continue
            }
            phys.chunkState[c] = ChunkState.reserved
            phys.chunkOwner[c] = ReservedDetail.firmware.rawValue
            let f = phys.materialize(c)
            var isFree = [Bool](repeating: true, count: 1024)
            for i in 0..<1024 where base + UInt64(i) >= n { isFree[i] = false }
            for r in overlapping {
                let lo = max(r.start, base), hi = min(r.end, end)
                if lo >= hi { continue }
                for p in lo..<hi {
                    let i = Int(p - base)
                    isFree[i] = false
                    f[i] = Frame(kind: r.hole ? Frame.hole : Frame.reserved, order: 0, flags: PG.reserved,
                                 owner: Owner.reserved, a: r.detail.rawValue, b: 0)
                }
            }
            // __free_pages_memory(): maximal aligned blocks of each free run.
            var i = 0
            while i < 1024 {
                if !isFree[i] { i += 1; continue }
                var j = i
                while j < 1024 && isFree[j] { j += 1 }
                var start = base + UInt64(i)
                let stop = base + UInt64(j)
                while start < stop {
                    var order = min(Buddy.maxOrder, start == 0 ? Buddy.maxOrder : start.trailingZeroBitCount)
                    while start + (1 << UInt64(order)) > stop { order -= 1 }
                    buddy.free(start, order, toTail: true)
                    start += 1 << UInt64(order)
                }
                i = j
            }
        }

        setupWatermarks()
        for i in 0..<zones.count {
            zonelists.append(zones[0...i].reversed().filter { $0.populated })
        }

        // Kernel page tables.
        pgdPfn = allocTablePage() ?? (layout.kernelPhysEnd >> 12 - 1)
        do { try buildDirectMap() } catch {}
        booting = false

        if config.fragmented {
            ageMachine()
        } else {
            // A freshly booted system has read some files: ~5% page cache.
            let target = Int(totalRAMPages / 20) / 1024
            for _ in 0..<target where addPageCache(order: Buddy.maxOrder) {}
        }
        // The kernel's own vmalloc areas, their page tables from the boot
        // reserve as the direct map's: the free lists the script starts
        // from stay those of a machine without them.
        booting = true
        bootVmallocUsers()
        booting = false
        if config.bootMessages { printBootMessages() }
        stats = MemoryStats()
        for t in tlbs { t.flushAll() }
    }

    /// Pages the page allocator manages (totalram_pages).
    var totalRAMPages: UInt64 { zones.reduce(0) { $0 + $1.managed } }

    // MARK: watermarks

    static func intSqrt(_ x: UInt64) -> UInt64 {
        if x < 2 { return x }
        var r = UInt64(Double(x).squareRoot())
        while r * r > x { r -= 1 }
        while (r + 1) * (r + 1) <= x { r += 1 }
        return r
    }

    /// calculate_min_free_kbytes() + __setup_per_zone_wmarks() +
    /// setup_per_zone_lowmem_reserve() (mm/page_alloc.c; 2.6.18's
    /// setup_per_zone_pages_min for the 2.6 era).
    func setupWatermarks() {
        let v6 = config.era == .v6
        let pagesOf: (Zone) -> UInt64 = { v6 ? $0.managed : $0.present }
        var lowmemPages: UInt64 = 0
        for z in zones where z.type != .highmem && z.type != .movable && z.type != .device {
            lowmemPages += pagesOf(z)
        }
        let lowmemKbytes = lowmemPages * 4
        var minKB = Machine.intSqrt(lowmemKbytes * 16)
        minKB = max(128, min(minKB, v6 ? 262_144 : 65_536))
        minFreeKbytes = Int(minKB)
        let pagesMin = minKB >> 2
        for z in zones {
            let managed = pagesOf(z)
            let tmp = lowmemPages == 0 ? 0 : pagesMin * managed / lowmemPages
            let high = z.type == .highmem || z.type == .movable
            if high {
                z.wmarkMin = Int(max(32, min(128, managed / 1024)))
            } else {
                z.wmarkMin = Int(tmp)
            }
            if v6 {
                let dist = max(tmp >> 2, managed * 10 / 10_000)
                z.wmarkLow = z.wmarkMin + Int(dist)
                z.wmarkHigh = z.wmarkLow + Int(dist)
                z.wmarkPromo = z.wmarkHigh + Int(dist)
            } else {
                z.wmarkLow = z.wmarkMin + Int(tmp >> 2)
                z.wmarkHigh = z.wmarkMin + Int(tmp >> 1)
                z.wmarkPromo = z.wmarkHigh
            }
        }
        // lowmem_reserve: pages of the zones above, divided by the ratio of
        // the lower zone (sysctl_lowmem_reserve_ratio: DMA 256, DMA32 256,
        // Normal 32, the others 0).
        func ratio(_ t: ZoneType) -> UInt64 {
            switch t {
            case .dma, .dma32: return 256
            case .normal: return v6 ? 32 : 32
            default: return 0
            }
        }
        for (i, z) in zones.enumerated() {
            let r = ratio(z.type)
            var sum: UInt64 = 0
            for j in 0..<zones.count {
                if j <= i { z.lowmemReserve[j] = 0; continue }
                sum += pagesOf(zones[j])
                z.lowmemReserve[j] = (r == 0 || (v6 && z.managed == 0)) ? 0 : Int(sum / r)
            }
        }
    }

    // MARK: aging

    /// Turns the machine into a long-running one: in every zone a region of
    /// up to 256 MiB is cut into single pages (about 14% free, the rest page
    /// cache and unmovable kernel pages, in random order), most remaining
    /// 4 MiB blocks become page cache, and only enough of them stay free to
    /// keep the zone above its high watermark.
    func ageMachine() {
        var rng = SplitMix64(seed: config.seed ^ 0xA6ED_0F1D_5EED)
        var cachePages: [UInt64] = []
        for z in zones where z.populated {
            let chunksFree = z.nrFree[Buddy.maxOrder]
            if chunksFree == 0 { continue }
            let aged = z.type == .dma ? chunksFree : max(1, min(64, chunksFree / 3))
            var freed = 0
            for _ in 0..<aged {
                let head = z.head[Buddy.maxOrder]
                if head == Buddy.none { break }
                buddy.take(head, Buddy.maxOrder)
                var freeList: [UInt64] = []
                for i in 0..<UInt64(1024) {
                    let pfn = head + i
                    let r = rng.below(100)
                    if r < 14 {
                        freeList.append(pfn)
                    } else if r < 70 || z.type == .highmem {
                        buddy.markAllocated(pfn, 0, owner: r < 70 ? Owner.pagecache : Owner.user, flags: PG.lru, aux: 0)
                        if r < 70 { cachePages.append(pfn) } else { phys.mframe(pfn).pointee.b = 1; userPageCount += 1 }
                    } else {
                        buddy.markAllocated(pfn, 0, owner: Owner.kernel, flags: 0, aux: 0)
                    }
                }
                for pfn in freeList { buddy.free(pfn, 0) }
                freed += freeList.count
            }
            // Keep enough 4 MiB blocks free to stay above the high watermark.
            let want = max(0, z.wmarkHigh * 5 / 4 + 2048 - z.freePages + z.nrFree[Buddy.maxOrder] * 1024)
            let keep = min(z.nrFree[Buddy.maxOrder], (want + 1023) / 1024)
            _ = freed
            while z.nrFree[Buddy.maxOrder] > keep {
                guard let pfn = buddy.rmqueue(z, Buddy.maxOrder) else { break }
                let slot = lru.append(pfn, Buddy.maxOrder)
                buddy.markAllocated(pfn, Buddy.maxOrder, owner: Owner.pagecache,
                                    flags: PG.lru | PG.uptodate | PG.mappedtodisk, aux: slot)
                z.pagecache += 1024
            }
        }
        // The scattered single pages are the oldest in the LRU, in random order.
        var i = cachePages.count - 1
        while i > 0 {
            let j = Int(rng.below(UInt64(i + 1)))
            cachePages.swapAt(i, j)
            i -= 1
        }
        let bigOnes = lru.entries
        lru.entries = []
        lru.live = 0
        for pfn in cachePages {
            let slot = lru.append(pfn, 0)
            phys.mframe(pfn).pointee.a = slot
            buddy.zone(of: pfn).pagecache += 1
        }
        for e in bigOnes {
            let pfn = e >> 4
            let slot = lru.append(pfn, Int(e & 0xF))
            setPageCacheSlot(pfn, Int(e & 0xF), slot)
        }
    }

    // MARK: boot messages

    /// The boot messages, formatted once per configuration and process: a
    /// grader boots the same machine for every check of every submission,
    /// and formatting them was most of a boot.
    func printBootMessages() {
        if let cached = BootMessages.cache.withLock({ $0[config] }) {
            log.appendStamped(cached[...])
            return
        }
        let before = log.lineCount
        formatBootMessages()
        let lines = Array(log.lines.suffix(log.lineCount - before))
        BootMessages.cache.withLock { cache in
            if cache.count >= BootMessages.maxConfigurations { cache.removeAll() }
            cache[config] = lines
        }
    }

    /// 2.6.18 zone_batchsize(): present/1024 pages, at most 512 KiB, a
    /// quarter of that, at least 1, rounded down to 2^n - 1.
    static func lifoBatch26(presentPages: UInt64) -> Int {
        var batch = Int(presentPages / 1024)
        if batch * 4096 > 512 * 1024 { batch = 512 * 1024 / 4096 }
        batch /= 4
        if batch < 1 { batch = 1 }
        let v = batch + batch / 2
        let fls = Int.bitWidth - v.leadingZeroBitCount
        return (1 << (fls - 1)) - 1
    }

    private func formatBootMessages() {
        var l: [String] = []
        if config.era == .v6 {
            l.append("Linux version \(layout.kernelRelease) (kmlab@kmlab) (gcc (GCC) 13.2.0, GNU ld (GNU Binutils) 2.42) #1 SMP PREEMPT_DYNAMIC")
        } else {
            // init/version.c of 2.6.18: no PREEMPT_DYNAMIC (it came in 5.12), an older gcc.
            l.append("Linux version \(layout.kernelRelease) (kmlab@kmlab) (gcc version 4.1.1) #1 SMP PREEMPT")
        }
        l.append("BIOS-provided physical RAM map:")
        let top = layout.totalPages << 12
        let e820: [(UInt64, UInt64, String)] = [(0, 0x9fc00, "usable"), (0x9fc00, 0xa0000, "reserved"),
                                                (0xf0000, 0x100000, "reserved"), (0x100000, top, "usable")]
        func mem(_ a: UInt64, _ b: UInt64) -> String { "[mem 0x\(hexPad(a, 16))-0x\(hexPad(b, 16))]" }
        for (start, end, type) in e820 {
            if config.era == .v6 {
                l.append("BIOS-e820: \(mem(start, end - 1)) \(type)")
            } else {
                // 2.6.18 arch/i386/kernel/setup.c print_memory_map():
                // printk(" %s: %016Lx - %016Lx ", who, addr, addr + size), then "(usable)\n".
                l.append(" BIOS-e820: \(hexPad(start, 16)) - \(hexPad(end, 16)) (\(type))")
            }
        }
        if layout.arch == .x86_32 {
            let high = (layout.totalPages - layout.maxLowPfn) >> 8
            if high > 0 { l.append("\(high)MB HIGHMEM available.") }
            l.append("\(layout.maxLowPfn >> 8)MB LOWMEM available.")
        }
        if config.era == .v2_6 {
            // 2.6.18 mm/page_alloc.c: calculate_zone_totalpages()'s "On node %d
            // totalpages: %lu", then zone_pcp_init()'s "  %s zone: %lu pages,
            // LIFO batch:%lu" per zone with pages (there was no "Zone ranges:"
            // block before the arch-independent zone sizing of 2.6.19).
            let sized = zones.filter { $0.type != .movable && $0.type != .device }
                .map { (name: $0.name, pages: $0.end > $0.start ? $0.end - ($0.index == 0 ? 0 : $0.start) : 0) }
            l.append("On node 0 totalpages: \(sized.reduce(0) { $0 + $1.pages })")
            for z in sized where z.pages > 0 {
                l.append("  \(z.name) zone: \(z.pages) pages, LIFO batch:\(Machine.lifoBatch26(presentPages: z.pages))")
            }
        }
        if config.era == .v6 { l.append("Zone ranges:") }
        for z in zones where z.type != .movable && z.type != .device && config.era == .v6 {
            let name = rpad(z.name, 8)
            if z.end > z.start {
                l.append("  \(name) \(mem(z.reportedStart << 12, (z.end << 12) - 1))")
            } else {
                l.append("  \(name) empty")
            }
        }
        if let t = Machine.swiotlbRange(config) {
            // swiotlb_print_info(): pr_info("mapped [mem %pa-%pa] (%luMB)").
            l.append("software IO TLB: mapped [mem 0x\(hexPad(t.start, 16))-0x\(hexPad(t.end, 16))] (\((t.end - t.start) >> 20)MB)")
        }
        let kernelK = (layout.kernelPhysEnd - layout.kernelPhysStart) >> 10
        if config.era == .v6 {
            l.append("Memory: \(totalRAMPages * 4)K/\(presentPages * 4)K available (\(kernelK * 6 / 10)K kernel code, "
                + "\(kernelK / 10)K rwdata, \(kernelK / 5)K rodata, \(kernelK / 20)K init, \(kernelK / 20)K bss, "
                + "\(reservedPages * 4)K reserved, 0K cma-reserved"
                + (layout.arch == .x86_32 ? ", \((layout.totalPages - layout.maxLowPfn) * 4)K highmem)" : ")"))
        } else if layout.arch == .x86_32 {
            // 2.6.18 arch/i386/mm/init.c mem_init(): "Memory: %luk/%luk available (%dk kernel
            // code, %ldk reserved, %dk data, %dk init, %ldk highmem)".
            l.append("Memory: \(totalRAMPages * 4)k/\(layout.totalPages * 4)k available (\(kernelK * 6 / 10)k kernel code, "
                + "\(reservedPages * 4)k reserved, \(kernelK * 3 / 10)k data, \(kernelK / 20)k init, "
                + "\((layout.totalPages - layout.maxLowPfn) * 4)k highmem)")
        } else {
            // 2.6.18 arch/x86_64/mm/init.c mem_init(): no highmem field.
            l.append("Memory: \(totalRAMPages * 4)k/\(layout.totalPages * 4)k available (\(kernelK * 6 / 10)k kernel code, "
                + "\(reservedPages * 4)k reserved, \(kernelK * 3 / 10)k data, \(kernelK / 20)k init)")
        }
        log.print(l.joined(separator: "\n"), timeNanoseconds: 0)
    }
}

/// `Machine.printBootMessages`' cache, shared by every machine of the process
/// (the tests boot machines on several threads at once: hence the lock).
enum BootMessages {
    static let cache = Mutex<[MachineConfig: [String]]>([:])
    /// Seeds differ from script to script: keep a bounded number.
    static let maxConfigurations = 64
}
