import Testing
@testable import KernelSim

/// The machine's interned call traces are its stack depot (lib/stackdepot.c)
/// and bounded like it: a script that allocates from ever new call sites
/// fills it, after which new traces share one "stack not available" trace
/// and the kernel's WARN_ONCE "Stack depot reached limit capacity" is
/// logged once; the traces' host bytes count against the contents budget.
@Suite struct StackDepotBoundsTests {
    private static func uniqueTrace(_ i: Int) -> [String] {
        ["  site_\(i)+0x0/0x40 [kmlab]", "  init_module+0x10/0x80 [kmlab]"]
    }

    @Test func newTracesPastTheCapacityShareTheDepotFullTrace() throws {
        let m = try testMachine(.x86_64)
        var current = 0
        m.callTraceProvider = { Self.uniqueTrace(current) }
        var ids = Set<Int32>()
        let extra = 300
        for i in 0..<(InternTable.maxTraces + extra) {
            current = i
            let p = try #require(try m.kmalloc(16, .kernel))
            try m.kfree(p)
            ids.insert(m.internTrace(Self.uniqueTrace(i)))
        }
        #expect(m.interned.storedTraces == InternTable.maxTraces)
        // the cap's worth of distinct ids, and one more shared by the rest
        #expect(ids.count == InternTable.maxTraces + 1)
        let full = m.internTrace(Self.uniqueTrace(InternTable.maxTraces + extra + 5))
        #expect(m.internedTrace(full) == InternTable.depotFullTrace)
        // a trace stored before the depot filled still has its own id
        #expect(m.internedTrace(m.internTrace(Self.uniqueTrace(7))) == Self.uniqueTrace(7))
        let warnings = m.log.reports.filter { $0.lines.contains("Stack depot reached limit capacity") }
        #expect(warnings.count == 1)
        let w = try #require(warnings.first)
        #expect(w.lines.contains { $0.hasPrefix("WARNING: CPU: 0 PID: ") && $0.contains(" at lib/stackdepot.c:252 depot_alloc_stack+") })
        // its Call Trace is the refused caller's, not the depot-full stand-in
        #expect(w.lines.contains { $0.contains("site_\(InternTable.maxTraces)+") })
    }

    /// The traces' host bytes are counted with the memory contents: under a
    /// small budget the depot fills by bytes before the cap, and what it
    /// holds never passes the budget.
    @Test func tracesAreChargedToTheContentsBudget() throws {
        let m = try testMachine(.x86_64)
        m.contentsByteLimit = m.contentsBytesStored + 256 << 10
        for i in 0..<5_000 { _ = m.internTrace(Self.uniqueTrace(i)) }
        #expect(m.interned.storedTraces < 5_000)
        #expect(m.interned.storedTraces > 100)
        #expect(m.contentsBytesStored <= m.contentsByteLimit)
        #expect(m.internedTrace(m.internTrace(Self.uniqueTrace(4_999))) == InternTable.depotFullTrace)
    }
}
