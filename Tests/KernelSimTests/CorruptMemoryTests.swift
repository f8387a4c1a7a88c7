import Testing
@testable import KernelSim
import SeededRandom

/// Simulated memory is untrusted input to the simulator: a script can write
/// over page-table pages, and every walk, free and scan that reads them must
/// end in a kernel report (arch/x86/mm/fault.c `pgtable_bad`: "Corrupted
/// page table", "Bad pagetable"), never in a host trap.
@Suite struct CorruptMemoryTests {
    /// The pfn of a page-table page the kernel's own direct map goes through.
    private func directMapTable(_ m: Machine) -> UInt64 {
        if m.layout.arch == .x86_32 {
            // the pkmap area's PTE table (the direct map itself uses 4 MiB PDEs)
            return m.entryPfn(m.readEntry(m.pgdPfn, Int(m.layout.pkmapBase >> 22)))
        }
        return m.entryPfn(m.readEntry(m.pgdPfn, Int((m.layout.pageOffset >> 39) & 511)))
    }

    @Test(arguments: [Arch.x86_64, .x86_32])
    func aScribbledPageTableIsABadPagetableOopsAndTheWriteIsReported(arch: Arch) throws {
        let m = try testMachine(arch)
        let p = try #require(try m.kmalloc(64, .kernel))
        let v = try #require(try m.vmalloc(3 * 4096))
        let table = directMapTable(m)
        let tableVA = m.layout.pageOffset + table << 12
        try m.memset(tableVA, 0xAB, 4096)
        // kmlab's debug check names the owner at the write
        let w = try #require(m.log.reports.last)
        #expect(w.headline.hasPrefix("kmlab: write to a frame owned by reserved (boot page tables): pfn 0x\(String(table, radix: 16))"))
        #expect(w.severity == .warning)
        m.tlb.flushAll()
        let probe = arch == .x86_64 ? p : m.layout.pkmapBase
        do {
            _ = try m.read(probe, count: 8)
            Issue.record("a walk through the scribbled table did not fault")
        } catch let oops as KernelOops {
            #expect(oops.report.lines.first == "insmod: Corrupted page table at address \(String(probe, radix: 16))")
            #expect(oops.report.lines.contains { $0.hasPrefix("Bad pagetable: 0009 [#") })
            #expect(oops.report.fields["reason"] == "bad pagetable")
        }
        // freeing, the leak scan and the views read the same tables: no trap
        _ = try? m.vfree(v)
        _ = try? m.kfree(p)
        _ = m.kmemleakReports()
        _ = try? m.proc("/proc/vmallocinfo")
    }

    @Test func writingAFramesOwnPageTableIsReportedOncePerFrame() throws {
        let m = try testMachine(.x86_64)
        let table = directMapTable(m)
        let tableVA = m.layout.pageOffset + table << 12
        // rewriting an entry with its own value keeps the machine working
        let entry = m.readEntry(table, 0)
        var bytes: [UInt8] = []
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: entry >> (8 * UInt64(i)))) }
        try m.write(tableVA, bytes: bytes)
        try m.write(tableVA, bytes: bytes)
        #expect(m.log.reports.filter { $0.headline.hasPrefix("kmlab: write to a frame owned by") }.count == 1)
        // and ordinary kmalloc memory is never reported
        let p = try #require(try m.kmalloc(64, .kernel))
        try m.memset(p, 1, 64)
        #expect(m.log.reports.count == 1)
    }

    /// Random scribbles over every page-table page, then every kind of
    /// operation: each ends normally or with a Swift error, never a trap.
    @Test(arguments: [Arch.x86_64, .x86_32])
    func randomScribblesOverPageTablesNeverTrap(arch: Arch) throws {
        for seed in 0..<12 as Range<UInt64> {
            let m = try testMachine(arch, ram: 256 << 20, seed: seed)
            var rng = SplitMix64(seed: seed &+ 77)
            let p = try m.kmalloc(200, .kernel)
            let v = try m.vmalloc(5 * 4096)
            // the tables: the PGD and every table one of its entries points at
            var tables: [UInt64] = [m.pgdPfn]
            let perTable = arch == .x86_64 ? 512 : 1024
            for i in 0..<perTable {
                let e = m.readEntry(m.pgdPfn, i)
                if e & PTE.present != 0, e & PTE.pse == 0, m.entryPfn(e) < m.phys.totalPages { tables.append(m.entryPfn(e)) }
            }
            for _ in 0..<4 {
                let t = tables[Int(rng.next() % UInt64(tables.count))]
                let off = Int(rng.next() % 4096) & ~7
                var junk: [UInt8] = []
                for _ in 0..<(8 * Int(1 + rng.next() % 8)) { junk.append(UInt8(truncatingIfNeeded: rng.next())) }
                try m.writePhysical(t << 12 + UInt64(off), bytes: Array(junk.prefix(4096 - off)))
            }
            m.tlb.flushAll()
            let targets: [UInt64] = [p ?? 0, v ?? 0, m.layout.pageOffset, m.layout.pageOffset + (64 << 20),
                                     m.layout.pkmapBase, rng.next()]
            for a in targets {
                _ = try? m.read(a, count: 64)
                _ = try? m.memset(a, 0x5A, 128)
                _ = try? m.memcmp(a, m.layout.pageOffset, 64)
                _ = try? m.vmallocToPage(a)
            }
            _ = try? m.vmalloc(2 * 4096)
            if let v { _ = try? m.vfree(v) }
            if let p { _ = try? m.kfree(p) }
            _ = m.kmemleakReports()
            for path in ["/proc/vmallocinfo", "/proc/meminfo", "/proc/buddyinfo"] { _ = try? m.proc(path) }
        }
    }

    @Test func aPfnFromGarbageReadsAsAHoleNotAnIndexOutOfRange() throws {
        let m = try testMachine(.x86_64, ram: 64 << 20)
        let far: UInt64 = 1 << 40
        #expect(m.phys.frame(far).kind == Frame.hole)
        #expect(m.phys.readWord64(far, 0) == UInt64.max)
        #expect(m.phys.readWord32(far, 0) == UInt32.max)
        #expect(m.phys.frameIfMaterialized(far) == nil)
        #expect(!m.phys.isStored(far))
        try m.phys.writeWord(far, 0, 1, size: 8)
    }
}
