import Testing
@testable import KernelSim

/// The kernel log is the printk ring buffer (kernel/printk/printk.c,
/// kernel/printk/printk_ringbuffer.c): 1 << CONFIG_LOG_BUF_SHIFT (17) bytes
/// of text and 1 << (17 - PRB_AVGBITS) records, oldest overwritten. The
/// structured report list keeps exact counts and a bounded number of
/// reports in full.
@Suite struct KernelLogBoundsTests {
    @Test func theRingBufferKeepsTheNewestLinesWithinItsSize() {
        let log = KernelLog()
        let text = String(repeating: "x", count: 100)
        for i in 0..<20_000 { log.print("\(i) \(text)", timeNanoseconds: UInt64(i)) }
        #expect(log.lineCount == 20_000)
        let kept = log.lines
        // each record: text + 8-byte id, aligned to 8
        let bytes = kept.reduce(0) { $0 + (($1.utf8.count - 15 + 8 + 7) & ~7) }
        #expect(bytes <= KernelLog.textAreaBytes)
        #expect(bytes > KernelLog.textAreaBytes - 200)
        #expect(kept.last?.hasSuffix("19999 \(text)") == true)
        #expect(log.linesDropped == 20_000 - kept.count)
        #expect(log.text.hasSuffix("19999 \(text)\n"))
    }

    @Test func shortLinesAreBoundedByTheRecordCount() {
        let log = KernelLog()
        for i in 0..<10_000 { log.print("l\(i)", timeNanoseconds: 0) }
        #expect(log.lines.count == KernelLog.maxRecords)
        #expect(log.lines.first?.hasSuffix("] l\(10_000 - KernelLog.maxRecords)") == true)
    }

    @Test func takeNewLinesSkipsWhatWasOverwritten() {
        let log = KernelLog()
        log.print("one", timeNanoseconds: 0)
        #expect(log.takeNewLines().count == 1)
        for i in 0..<10_000 { log.print("l\(i)", timeNanoseconds: 0) }
        let new = log.takeNewLines()
        #expect(new.count == KernelLog.maxRecords)
        #expect(new.last?.hasSuffix("l9999") == true)
        #expect(log.takeNewLines().isEmpty)
    }

    private func report(_ kind: KernelReport.Kind, _ n: Int) -> KernelReport {
        KernelReport(kind: kind, severity: .warning, lines: ["\(kind.rawValue) #\(n)"])
    }

    @Test func reportsKeepExactCountsFirstAndLastAndTheLatestOfEachKind() {
        let log = KernelLog()
        for i in 0..<1_000 { log.record(report(.doubleFree, i), timeNanoseconds: 0) }
        log.record(report(.useAfterFree, 0), timeNanoseconds: 0)
        for i in 1_000..<1_500 { log.record(report(.doubleFree, i), timeNanoseconds: 0) }
        #expect(log.reportCount == 1_501)
        #expect(log.reportCountsByKind[.doubleFree] == 1_500)
        #expect(log.reportCountsByKind[.useAfterFree] == 1)
        let kept = log.reports
        #expect(kept.count == KernelLog.keptFirst + KernelLog.keptLast + 1)
        #expect(kept.first?.headline == "double-free #0")
        #expect(kept.last?.headline == "double-free #1499")
        #expect(kept.contains { $0.kind == .useAfterFree })
        // a window in which a kind was raised still shows one of it
        let since = log.reports(since: 900)
        #expect(since.contains { $0.kind == .useAfterFree })
        #expect(since.last?.headline == "double-free #1499")
        #expect(log.reports(since: 1_501).isEmpty)
        #expect(log.reportsDropped == 1_501 - kept.count)
    }

    @Test func aFloodOfDoubleFreesKeepsTheHostLogBounded() throws {
        let m = try testMachine(.x86_64)
        let p = try #require(try m.kmalloc(32, .kernel))
        try m.kfree(p)
        for _ in 0..<1_500 { try m.kfree(p) }
        #expect(m.log.reportCount == 1_500)
        #expect(m.log.reports.count <= KernelLog.keptFirst + KernelLog.keptLast + KernelReport.Kind.allCases.count)
        #expect(m.log.lines.count <= KernelLog.maxRecords)
        #expect(m.log.text.utf8.count < 2 * KernelLog.textAreaBytes)
    }
}
