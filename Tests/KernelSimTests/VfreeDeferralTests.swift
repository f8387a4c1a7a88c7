import Testing
@testable import KernelSim

/// mm/vmalloc.c vfree(): `if (unlikely(in_interrupt())) { vfree_atomic(addr);
/// return; }` — the area stays until delayed_vfree_work runs in a kworker.
@Suite struct VfreeDeferralTests {
    @Test func vfreeInAnIrqHandlerIsDeferredToTheWorkqueue_vmallocVfreeAtomic() throws {
        let m = try testMachine()
        let p = try #require(try m.vmalloc(3 * 4096))
        var inHandler = -1
        _ = m.requestIrq(11, handler: {
            try m.vfree(p)
            inHandler = m.scriptVmAreas.count
            return .handled
        }, flags: 0, name: "nic", devId: nil)
        _ = try m.raiseIrq(11)
        #expect(inHandler == 1)                      // still there inside the handler
        #expect(m.scriptVmAreas.count == 1)               // and after it: the work has not run
        #expect(m.pendingWorkCount == 1)
        #expect(m.log.reports.isEmpty)               // no sleeping-in-atomic report
        #expect(try m.kmemleakReports().isEmpty)     // kmemleak_free() ran at once
        try m.flushScheduledWork()
        #expect(m.scriptVmAreas.isEmpty)
        #expect(m.log.reports.isEmpty)
    }

    @Test func vfreeWithBottomHalvesDisabledIsDeferredWithoutASleepingReport_inInterrupt() throws {
        let m = try testMachine()
        let a = try #require(try m.vmalloc(4096))
        let b = try #require(try m.vmalloc(4096))
        m.localBhDisable()
        try m.vfree(a)
        try m.vfree(b)
        try m.vfree(0)
        #expect(m.scriptVmAreas.count == 2)
        #expect(m.pendingWorkCount == 1)             // one work item for the whole list
        #expect(m.log.reports.isEmpty)
        try m.localBhEnable()
        try m.flushScheduledWork()
        #expect(m.scriptVmAreas.isEmpty)
        #expect(m.log.reports.isEmpty)
        #expect(m.checkInvariants() == [])
    }

    @Test func aBadAddressIsWarnedAboutByTheKworker_delayedVfreeWork() throws {
        let m = try testMachine()
        m.localBhDisable()
        try m.vfree(0xF900_0000)
        try m.localBhEnable()
        #expect(m.log.reports.isEmpty)
        try m.flushScheduledWork()
        let r = try #require(m.log.reports.first)
        #expect(r.headline.hasPrefix("Trying to vfree() nonexistent vm area"))
        #expect(r.lines.contains("Workqueue: events delayed_vfree_work") || r.context == "kworker")
    }

    @Test func era26VfreeInInterruptIsABug_vmalloc2618() throws {
        let m = try testMachine(era: .v2_6)
        let p = try #require(try m.vmalloc(4096))
        m.localBhDisable()
        #expect(throws: KernelOops.self) { try m.vfree(p) }
    }
}

/// mm/kmemleak.c: one summary line in the log, the objects in debugfs;
/// vmalloc areas registered with PAGE_ALIGN(size) (kmemleak_vmalloc).
@Suite struct KmemleakShapeTests {
    @Test func endOfRunPrintsAFewInFullAndOneSummaryLine_kmemleakScan() throws {
        let m = try testMachine()
        for _ in 0..<8 { _ = try m.kmalloc(100, .kernel) }
        let found = m.reportLeaks()
        #expect(found.count == 8)
        #expect(m.reports(.memoryLeak).count == Machine.leaksPrintedInFull)
        #expect(m.log.text.contains("] kmemleak: 8 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n"))
        let file = try m.proc("/sys/kernel/debug/kmemleak")
        #expect(file.components(separatedBy: "unreferenced object ").count - 1 == 8)
    }

    @Test func vmallocLeaksAreWholePages_kmemleakVmalloc() throws {
        let m = try testMachine()
        let p = try #require(try m.vmalloc(5000))
        let r = try #require(m.reportLeaks().first)
        #expect(r.lines[0] == "unreferenced object 0x\(String(p, radix: 16)) (size 8192):")
    }
}
