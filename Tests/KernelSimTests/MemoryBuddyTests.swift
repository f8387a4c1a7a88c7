import Testing
@testable import KernelSim

/// The buddy allocator (mm/page_alloc.c): split and coalesce, /proc/buddyinfo,
/// zone fallback by GFP zone modifiers, watermarks and GFP_ATOMIC's reserve,
/// the allocation-failure warning, fragmentation of an aged machine.
@Suite struct MemoryBuddyTests {
    @Test func buddyinfoHasOneColumnPerOrderInTheKernelsFormat() throws {
        let m = try testMachine()
        let text = try m.proc("/proc/buddyinfo")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4 && lines[3] == "")
        #expect(lines[0].hasPrefix("Node 0, zone      DMA "))
        #expect(lines[1].hasPrefix("Node 0, zone   Normal "))
        #expect(lines[2].hasPrefix("Node 0, zone  HighMem "))
        // "%6lu " per order 0...10.
        #expect(lines[1].count == "Node 0, zone   Normal ".count + 11 * 7)
        let m64 = try testMachine(.x86_64, ram: 8 << 30)
        #expect(try m64.proc("/proc/buddyinfo").contains("Node 0, zone    DMA32 "))
    }

    @Test func allocationSplitsTheSmallestBlockAndFreeingCoalesces() throws {
        let m = try testMachine()
        let before = try m.buddyinfoCounts("Normal")
        let o = try #require((0...10).first { before[$0] > 0 })
        let page = try #require(try m.allocPages(.kernel, order: 0))
        #expect(m.pageZoneName(page) == "Normal")
        var expected = before
        expected[o] -= 1
        for k in 0..<o { expected[k] += 1 }
        #expect(try m.buddyinfoCounts("Normal") == expected)
        try m.freePages(page, order: 0)
        #expect(try m.buddyinfoCounts("Normal") == before)
        #expect(m.checkInvariants() == [])
    }

    @Test func buddiesMergeOnlyWhenBothAreFree() throws {
        let m = try testMachine()
        // Lone order-3 blocks (6.12's lowmem ends off a 4 MiB boundary) go
        // first, so the next two come from splitting one larger block.
        while try m.buddyinfoCounts("Normal")[3] > 0 { _ = try m.allocPages(.kernel, order: 3) }
        let before = try m.buddyinfoCounts("Normal")
        let a = try #require(try m.allocPages(.kernel, order: 3))
        let b = try #require(try m.allocPages(.kernel, order: 3))
        #expect(a.pfn ^ b.pfn == 8)  // buddies: pfn ^ (1 << order)
        try m.freePages(a, order: 3)
        let mid = try m.buddyinfoCounts("Normal")
        #expect(mid != before)
        try m.freePages(b, order: 3)
        #expect(try m.buddyinfoCounts("Normal") == before)
        #expect(m.checkInvariants() == [])
    }

    @Test func freeingTheWrongOrderIsABadPageReport() throws {
        let m = try testMachine()
        let a = try #require(try m.allocPages(.kernel, order: 2))
        try m.freePages(a, order: 1)
        #expect(m.log.reports.first?.headline.hasPrefix("BUG: Bad page state in process") == true)
        try m.freePages(a, order: 2)
        try m.freePages(a, order: 2)
        #expect(m.reports(.doubleFree).count == 1)
        #expect(m.checkInvariants() == [])
    }

    @Test func zoneModifiersChooseTheZoneAndFallBackDownwards() throws {
        let m = try testMachine()
        #expect(m.pageZoneName(try #require(try m.allocPages(.kernel, order: 0))) == "Normal")
        #expect(m.pageZoneName(try #require(try m.allocPages(.highuser, order: 0))) == "HighMem")
        #expect(m.pageZoneName(try #require(try m.allocPages([.kernel, .dma], order: 0))) == "DMA")
        // __GFP_DMA32 on x86_32 means ZONE_NORMAL (GFP_ZONE_TABLE).
        #expect(m.pageZoneName(try #require(try m.allocPages([.kernel, .dma32], order: 0))) == "Normal")
        // Exhaust HighMem: the next __GFP_HIGHMEM block comes from Normal.
        var zones: [String] = []
        for _ in 0..<40 {
            guard let p = try m.allocPages([.highuser, .nowarn], order: 10) else { break }
            zones.append(m.pageZoneName(p))
            if zones.last != "HighMem" { break }
        }
        #expect(zones.first == "HighMem")
        #expect(zones.last == "Normal")
        #expect(m.checkInvariants() == [])

        let m64 = try testMachine(.x86_64, ram: 8 << 30)
        #expect(m64.pageZoneName(try #require(try m64.allocPages(.kernel, order: 0))) == "Normal")
        #expect(m64.pageZoneName(try #require(try m64.allocPages([.kernel, .dma32], order: 0))) == "DMA32")
        #expect(m64.pageZoneName(try #require(try m64.allocPages([.kernel, .dma], order: 0))) == "DMA")
        #expect(m64.pageZoneName(try #require(try m64.allocPages(.highuser, order: 0))) == "Normal")
        // No ZONE_NORMAL below 4 GiB: GFP_KERNEL falls back to DMA32.
        let small = try testMachine(.x86_64, ram: 1 << 30)
        #expect(small.pageZoneName(try #require(try small.allocPages(.kernel, order: 0))) == "DMA32")
    }

    @Test func gfpAtomicDipsBelowMinWhereGfpNowaitStops() throws {
        let m = try testMachine(.x86_64, ram: 64 << 20)
        var nowait = 0
        while try m.allocPages(.nowait, order: 0) != nil { nowait += 1 }
        #expect(nowait > 1000)
        // 6.12's GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone (include/linux/gfp_types.h;
        // __GFP_NOWARN joined it only in 6.18): its failure warns.
        #expect(m.reports(.allocationFailure).first?.headline.hasPrefix(
            "insmod: page allocation failure: order:0, mode:0x800(GFP_NOWAIT), nodemask=(null)") == true)
        // warn_alloc() prints one report per 10 s (nopage_rs): the next one
        // is printed only once that much simulated time has passed.
        m.advanceClock(nanoseconds: 10_000_000_001)
        let z = try #require(m.zone(named: "DMA32"))
        #expect(z.freePages >= z.wmarkMin - 1)
        var atomic = 0
        while try m.allocPages(.atomic, order: 0) != nil { atomic += 1 }
        #expect(atomic > 0)
        #expect(z.freePages < z.wmarkMin)
        let r = try #require(m.reports(.allocationFailure).last)
        #expect(r.headline.hasPrefix("insmod: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null)"))
        #expect(r.text.contains("Mem-Info:"))
        #expect(m.checkInvariants() == [])
    }

    @Test func sleepingAllocationsReclaimThePageCache() throws {
        let m = try testMachine(.x86_64, ram: 256 << 20)
        let cacheBefore = m.zones.reduce(0) { $0 + $1.pagecache }
        #expect(cacheBefore > 0)
        var n = 0
        // __GFP_NORETRY: a plain GFP_KERNEL order-0 request would end in
        // the OOM killer (and, with no user process, the panic) instead of NULL.
        while try m.allocPages([.kernel, .nowarn, .noretry], order: 0) != nil { n += 1 }
        #expect(m.zones.reduce(0) { $0 + $1.pagecache } < cacheBefore)
        #expect(m.stats.pagesReclaimed > 0)
        #expect(m.checkInvariants() == [])
    }

    @Test func nowarnSilencesTheFailureWarning() throws {
        let m = try testMachine()
        #expect(try m.allocPages([.kernel, .nowarn], order: 11) == nil)
        #expect(m.log.reports.isEmpty)
        #expect(try m.allocPages(.kernel, order: 11) == nil)
        #expect(m.log.reports.count == 1)
    }

    @Test func era26PrintsItsOwnFailureLine() throws {
        let m = try testMachine(era: .v2_6)
        #expect(try m.allocPages(.kernel, order: 12) == nil)
        let m2 = try testMachine(ram: 64 << 20, era: .v2_6)
        while try m2.allocPages(.atomic, order: 0) != nil {}
        // 2.6.18's GFP_ATOMIC is __GFP_HIGH alone: mode:0x20 (include/linux/gfp.h of 2.6.18).
        #expect(m2.reports(.allocationFailure).first?.headline == "insmod: page allocation failure. order:0, mode:0x20")
    }

    @Test func fragmentedMachinesHaveFewHighOrderBlocks() throws {
        let fresh = try testMachine(seed: 1), aged = try testMachine(seed: 1, fragmented: true)
        let f = try fresh.buddyinfoCounts("Normal"), a = try aged.buddyinfoCounts("Normal")
        #expect(a[0] > 1000 && f[0] < 10)
        func highShare(_ c: [Int]) -> Double {
            let total = c.enumerated().reduce(0) { $0 + ($1.element << $1.offset) }
            let high = c.enumerated().filter { $0.offset >= 9 }.reduce(0) { $0 + ($1.element << $1.offset) }
            return Double(high) / Double(max(1, total))
        }
        #expect(highShare(f) > 0.95)
        #expect(highShare(a) < highShare(f) - 0.2)
        #expect(aged.checkInvariants() == [])
        #expect(try testMachine(seed: 1, fragmented: true).proc("/proc/buddyinfo") == aged.proc("/proc/buddyinfo"))
        #expect(try testMachine(seed: 2, fragmented: true).proc("/proc/buddyinfo") != aged.proc("/proc/buddyinfo"))
    }

    @Test func zoneinfoShowsWatermarksAndManagedPages() throws {
        let m = try testMachine()
        let text = try m.proc("/proc/zoneinfo")
        let z = try #require(m.zone(named: "Normal"))
        #expect(text.contains("Node 0, zone   Normal"))
        #expect(text.contains("        min      \(z.wmarkMin)\n        low      \(z.wmarkLow)\n        high     \(z.wmarkHigh)"))
        #expect(text.contains("        managed  \(z.managed)"))
        #expect(z.wmarkMin < z.wmarkLow && z.wmarkLow < z.wmarkHigh)
    }
}
