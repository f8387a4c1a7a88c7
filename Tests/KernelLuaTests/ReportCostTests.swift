import KernelSim
import LuaBridge
import Testing

/// A kernel report costs the host far more than the few VM instructions of
/// the call that raised it, so each is charged to the instruction budget:
/// a loop of double frees (a report flood) meets the budget after a bounded
/// number of reports, whatever the loop, instead of running for minutes.
@Suite struct ReportCostTests {
    @Test(arguments: ["kfree(p)", "vfree(q)", "kfree(0xdeadbe00 + i * 8)"])
    func aReportFloodMeetsTheInstructionBudget(free: String) throws {
        let budget: Int64 = 2_000_000
        let k = try KernelHarness(limits: LuaLimits(maxInstructions: budget, maxMemory: 64 << 20))
        let message = k.errorMessage("""
        local p = kmalloc(32, GFP_KERNEL) kfree(p)
        local q = vmalloc(8192) vfree(q)
        for i = 1, 1e9 do pcall(function() \(free) end) end
        """)
        #expect(message?.contains("instruction limit exceeded") == true, "\(message ?? "finished")")
        let reports = k.machine.log.reportCount
        // About the budget's worth of reports (the charge is enforced at
        // the next count hook, up to 1,000 instructions of loop later),
        // where the loop's own instructions would have allowed some 80,000.
        #expect(reports >= 100)
        #expect(reports <= 2 * Int(budget / 10_000), "\(reports) reports")
    }
}
