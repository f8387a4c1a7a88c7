import Testing
@testable import KernelSim

/// vmalloc (mm/vmalloc.c): order-0 pages highmem first, one PTE per page, a
/// guard page, /proc/vmallocinfo, vfree; and what the TLB makes of it.
@Suite struct MemoryVmallocTests {
    @Test func vmallocMapsOrderZeroHighmemPagesOnePteEachWithAGuardPage() throws {
        let m = try testMachine()
        let ptes = m.stats.ptesWritten
        let v = try #require(try m.vmalloc(5 * 4096 - 100))
        // First fit after the kernel's own boot-time areas (BootVmallocUsers.swift).
        #expect(v == 0xF781_8000)
        #expect(m.stats.ptesWritten - ptes == 5)
        for i in 0..<5 {
            let page = try #require(try m.vmallocToPage(v + UInt64(i) * 4096))
            let info = try #require(m.pageInfo(page))
            #expect(info.zone == "HighMem")
            #expect(info.owner == "vmalloc")
            #expect(info.order == 0)
        }
        // The guard page is not mapped: vmalloc_to_page is NULL, an access Oopses.
        #expect(try m.vmallocToPage(v + 5 * 4096) == nil)
        #expect(try m.vmallocToPfn(v + 5 * 4096) == 0)
        let oops = try #require(throws: KernelOops.self) { try m.readByte(v + 5 * 4096) }
        #expect(oops.report.headline == "BUG: unable to handle page fault for address: \(String(v + 5 * 4096, radix: 16))")
        // The next area starts after the guard page.
        let w = try #require(try m.vmalloc(4096))
        #expect(w == v + 6 * 4096)
        #expect(m.checkInvariants() == [])
    }

    @Test func vmallocinfoLineIncludesTheGuardPage() throws {
        let m = try testMachine()
        _ = try #require(try m.vmalloc(100_000))
        let text = try m.proc("/proc/vmallocinfo")
        // 100000 bytes = 25 pages, + 1 guard page = 106496 bytes; "0x%pK-0x%pK %7ld %pS pages=%d vmalloc".
        #expect(text.contains("\n0xf7818000-0xf7832000  106496 "))
        #expect(text.hasSuffix(" pages=25 vmalloc\n"))
        let m64 = try testMachine(.x86_64, ram: 1 << 30)
        _ = try #require(try m64.vmalloc(4096))
        let line = try m64.proc("/proc/vmallocinfo").split(separator: "\n").first { $0.contains("[") }
        #expect(line?.hasPrefix("0xffffc90000154000-0xffffc90000156000    8192 ") == true)
        #expect(line?.hasSuffix(" pages=1 vmalloc N0=1") == true)
    }

    @Test func vfreeUnmapsFlushesAndFreesThePages() throws {
        let m = try testMachine()
        // The first vmalloc allocates the page table for the area; it stays (as in the kernel).
        try m.vfree(try #require(try m.vmalloc(4096)))
        let bootAreas = try m.proc("/proc/vmallocinfo")   // the kernel's own (BootVmallocUsers.swift)
        let freeBefore = m.buddy.totalFree
        let cleared = m.stats.ptesCleared
        let tablesBefore = m.pageTablePages
        let v = try #require(try m.vmalloc(64 * 4096))
        try m.write(v, bytes: [1])
        try m.vfree(v)
        // Every frame comes back but the page tables the area needed (they stay).
        #expect(m.buddy.totalFree == freeBefore - (m.pageTablePages - tablesBefore))
        #expect(try m.proc("/proc/vmallocinfo") == bootAreas)
        #expect(m.stats.ptesCleared - cleared == 64)
        #expect(throws: KernelOops.self) { try m.readByte(v) }
        // vfree of something vmalloc never returned warns.
        let k = try #require(try m.kmalloc(64, .kernel))
        try m.vfree(k)
        #expect(m.log.reports.last?.text.contains("Trying to vfree() nonexistent vm area") == true)
        #expect(m.checkInvariants() == [])
    }

    @Test func meminfoCountsVmallocUsed() throws {
        let m = try testMachine()
        // 6.x: vmalloc_nr_pages(), the pages of vmalloc'd areas, the boot-time users' among them.
        let boot = m.vm.usedPages * 4
        #expect(boot > 0)
        _ = try m.vmalloc(10 * 4096)
        let line = try m.proc("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("VmallocUsed:") }
        #expect(line?.split(separator: " ").map(String.init) == ["VmallocUsed:", String(boot + 40), "kB"])
    }

    @Test func aLargeVmallocWalkMissesTheTlbWhereKmallocDoesNot() throws {
        for arch in [Arch.x86_32, .x86_64] {
            let m = try testMachine(arch, ram: 1 << 30)
            let n = 1 << 20
            let v = try #require(try m.vmalloc(n))
            let k = try #require(try m.kmalloc(n, .kernel))
            func walk(_ base: UInt64) throws -> (UInt64, UInt64) {
                let s = m.stats
                for _ in 0..<2 {
                    for i in stride(from: 0, to: n, by: 4096) { _ = try m.readByte(base + UInt64(i)) }
                }
                return (m.stats.tlbMisses - s.tlbMisses, m.stats.pageWalks - s.pageWalks)
            }
            let (vm, vw) = try walk(v)
            let (km, _) = try walk(k)
            // 256 pages, a 64-entry 4 KiB TLB: every access misses, twice over.
            #expect(vm == 512, "\(arch)")
            #expect(vw == 512)
            // The direct map uses large pages: one miss covers the whole buffer.
            #expect(km <= 2, "\(arch)")
            let t0 = m.clockNanoseconds
            _ = try walk(v)
            let tv = m.clockNanoseconds - t0
            let t1 = m.clockNanoseconds
            _ = try walk(k)
            #expect(tv > 5 * (m.clockNanoseconds - t1))
        }
    }

    @Test func vmallocIsSlowerThanKmallocOnTheSimulatedClock() throws {
        let m = try testMachine()
        let t0 = m.clockNanoseconds
        let v = try #require(try m.vmalloc(64 << 10))
        let tv = m.clockNanoseconds - t0
        let t1 = m.clockNanoseconds
        let k = try #require(try m.kmalloc(64 << 10, .kernel))
        let tk = m.clockNanoseconds - t1
        #expect(tv > tk)
        try m.vfree(v)
        try m.kfree(k)
    }

    @Test func vmallocOfZeroWarnsAndReturnsNil() throws {
        let m = try testMachine()
        #expect(try m.vmalloc(0) == nil)
        #expect(m.log.reports.count == 1)
        #expect(throws: KernelArgumentError.self) { try m.vmalloc(-5) }
    }

    @Test func vmallocLargerThanRamFailsWithTheKernelsMessage() throws {
        let m = try testMachine(ram: 64 << 20)
        #expect(try m.vmalloc(100 << 20) == nil)
        #expect(m.reports(.allocationFailure).first?.headline.contains("vmalloc error: size 104857600") == true)
        #expect(m.checkInvariants() == [])
    }

    @Test func kvmallocFallsBackToVmallocForLargeSizes() throws {
        let m = try testMachine(seed: 3, fragmented: true)
        let small = try #require(try m.kvmalloc(100, .kernel))
        #expect(m.layout.isDirectMap(small))
        let big = try #require(try m.kvmalloc(64 << 20, .kernel))
        #expect(m.isVmallocAddr(big))
        try m.kvfree(big)
        try m.kvfree(small)
        #expect(m.checkInvariants() == [])
    }
}
