import Testing
@testable import KernelSim

/// KASAN's checked memset/memcpy/memmove (mm/kasan/shadow.c) check the
/// whole range first and, when kasan_check_range() reports, return without
/// writing; memcmp (lib/string.c, instrumented) reports a 1-byte read at the
/// first bad byte it reaches. Whatever the length, the check's host work is
/// bounded by the memory really mapped.
@Suite struct KasanStringFunctionTests {
    private func kasanReports(_ m: Machine) -> [KernelReport] {
        m.log.reports.filter { $0.headline.hasPrefix("BUG: KASAN:") }
    }

    @Test func memsetOverTheEndIsReportedAndWritesNothing() throws {
        let m = try testMachine(.x86_64)
        let p = try #require(try m.kmalloc(10, .kernel))
        try m.memset(p, 0x11, 10)
        let before = try m.readRaw(p, 32)
        try m.memset(p, 0xEE, 32)
        let r = try #require(kasanReports(m).last)
        #expect(r.kind == .slabOutOfBounds)
        #expect(r.lines.contains { $0.hasPrefix("Write of size 32 at addr \(m.px(p))") })
        #expect(try m.readRaw(p, 32) == before)
    }

    @Test func memcpyChecksTheSourceThenTheDestinationAndCopiesNothing() throws {
        let m = try testMachine(.x86_64)
        let small = try #require(try m.kmalloc(8, .kernel))
        let big = try #require(try m.kmalloc(64, .kernel))
        try m.memset(small, 0x22, 8)
        try m.memset(big, 0x33, 64)
        let bigBefore = try m.readRaw(big, 64)
        // source too short: one read report, nothing copied
        try m.memcpy(big, small, 32)
        #expect(kasanReports(m).count == 1)
        #expect(kasanReports(m).last?.lines.contains { $0.hasPrefix("Read of size 32 at addr \(m.px(small))") } == true)
        #expect(try m.readRaw(big, 64) == bigBefore)
        // destination too short: one write report, nothing copied
        let smallBefore = try m.readRaw(small, 16)
        try m.memcpy(small, big, 32)
        #expect(kasanReports(m).count == 2)
        #expect(kasanReports(m).last?.lines.contains { $0.hasPrefix("Write of size 32 at addr \(m.px(small))") } == true)
        #expect(try m.readRaw(small, 16) == smallBefore)
        // a good copy still copies
        try m.memcpy(small, big, 8)
        #expect(try m.readRaw(small, 8) == [UInt8](repeating: 0x33, count: 8))
        #expect(kasanReports(m).count == 2)
    }

    @Test func memcmpReportsAOneByteReadAtTheFirstBadByteItReaches() throws {
        let m = try testMachine(.x86_64)
        let a = try #require(try m.kmalloc(10, .kernel))
        let b = try #require(try m.kmalloc(64, .kernel))
        try m.memset(a, 0, 10)
        try m.memset(b, 0, 64)
        // equal for the first 10 bytes: the loop reads a[10], which is bad
        _ = try m.memcmp(a, b, 16)
        let r = try #require(kasanReports(m).last)
        #expect(r.lines.contains("Read of size 1 at addr \(m.px(a + 10)) by task insmod/412"))
        // a difference before the bad byte: the loop stops there, no report
        try m.memset(b + 3, 1, 1)
        let n = kasanReports(m).count
        #expect(try m.memcmp(a, b, 16) < 0)
        #expect(kasanReports(m).count == n)
    }

    @Test(arguments: [Arch.x86_64, .x86_32])
    func hugeLengthsEndAtTheFirstBadByteOrUnmappedPage(arch: Arch) throws {
        let m = try testMachine(arch)
        let p = try #require(try m.kmalloc(32, .kernel))
        let huge = arch == .x86_64 ? Int.max / 2 : Int(UInt32.max)
        // a redzone right after the object: reported, nothing written
        try m.memset(p, 0, huge)
        #expect(kasanReports(m).count == 1)
        // memcmp of an object with itself reads on to the end of the direct
        // map: the bad byte is reported on the way, then the fault
        #expect(throws: KernelOops.self) { _ = try m.memcmp(p, p, huge) }
        #expect(kasanReports(m).count == 2)
        #expect(kasanReports(m).last?.lines.contains { $0.hasPrefix("Read of size 1 at addr \(m.px(p + 32))") } == true)
        try m.memcpy(p, p, huge)
        #expect(kasanReports(m).count == 3)
        // past the end of the direct map: the first unmapped byte faults
        let end = m.layout.pageOffset + (m.layout.maxLowPfn << 12)
        #expect(throws: KernelOops.self) { try m.memset(end, 0, huge) }
        #expect(throws: KernelOops.self) { _ = try m.read(end, count: 1 << 30) }
    }
}
