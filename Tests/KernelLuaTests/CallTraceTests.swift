import CLua
import KernelSim
import Testing

/// The call traces KASAN and kmemleak record are memoized per stack, and a
/// stack is identified by the instructions its frames are executing
/// (Modules/CLua/callsite.h). These tests pin down that the identity never
/// mixes up two stacks that print differently.
@Suite struct CallTraceTests {
    /// The text between "Allocated by task" and "Freed by task" of a report.
    private func allocationStack(_ r: KernelReport) -> String? {
        let text = r.text
        guard let a = text.range(of: "Allocated by task"), let f = text.range(of: "Freed by task") else { return nil }
        return String(text[a.upperBound..<f.lowerBound])
    }

    @Test func theCallInfoLayoutSelfTestPassesWithTheLuaOfThisMachine() {
        // Debian's liblua5.4 (5.4.4) has the layout callsite.h reads; were it
        // to fail, kmlab would fall back to lua_getinfo (correct, but slower).
        #expect(kmlab_callsite_selftest() == 1)
    }

    @Test func chunksLoadedOneAfterAnotherKeepTheirOwnTraces() throws {
        // Each chunk is garbage once it has run; a collection frees its code,
        // and the next chunk's code may be allocated at the same address. The
        // cache keeps the functions of the stacks it remembers alive, so no
        // stale trace is handed out (the REPL runs every line this way).
        let h = try KernelHarness(profile: .trusted) // collectgarbage()
        h.check("""
            local ps = {}
            for i = 1, 40 do
              ps[i] = load(string.rep("\\n", i) .. "return kmalloc(32, GFP_KERNEL)", "=chunk" .. i)()
              collectgarbage()
            end
            for i = 1, 40 do kfree(ps[i]) end
            for i = 1, 40 do kfree(ps[i]) end
            """)
        let doubles = h.reports.filter { $0.kind == .doubleFree }
        #expect(doubles.count == 40)
        for (i, r) in doubles.enumerated() {
            let stack = try #require(allocationStack(r))
            #expect(stack.contains("[chunk\(i + 1):\(i + 2)]"), "report \(i + 1): \(stack)")
        }
    }

    @Test func oneHandlerBodyRegisteredUnderTwoNamesIsNamedByEach() throws {
        // A Lua function called from C has no name from its caller; kmlab
        // names it by the function (its global name). Two closures of one
        // body run the same instructions (and are raised from one line here),
        // so the closure is part of the key.
        let h = try KernelHarness()
        h.check("""
            local function make() return function() got = kmalloc(64, GFP_ATOMIC); return IRQ_HANDLED end end
            eth0_rx, eth1_rx = make(), make()
            request_irq(10, eth0_rx, 0, "eth0", nil)
            request_irq(11, eth1_rx, 0, "eth1", nil)
            local out = {}
            for _, irq in ipairs({10, 11}) do raise_irq(irq); out[#out + 1] = got end
            local a, b = out[1], out[2]
            kfree(a); kfree(b); kfree(a); kfree(b)
            """)
        let doubles = h.reports.filter { $0.kind == .doubleFree }
        #expect(doubles.count == 2)
        let first = try #require(doubles.first.flatMap(allocationStack))
        let second = try #require(doubles.last.flatMap(allocationStack))
        #expect(first.contains("eth0_rx") && !first.contains("eth1_rx"), "\(first)")
        #expect(second.contains("eth1_rx") && !second.contains("eth0_rx"), "\(second)")
    }

    @Test func theSameLineReachedThroughDifferentCallersKeepsItsCallers() throws {
        let h = try KernelHarness()
        h.check("""
            local function grab() return kmalloc(16, GFP_KERNEL) end
            local function via_a() return grab() + 0 end
            local function via_b() return grab() + 0 end
            local a, b = via_a(), via_b()
            kfree(a); kfree(b); kfree(a); kfree(b)
            """)
        let doubles = h.reports.filter { $0.kind == .doubleFree }
        #expect(doubles.count == 2)
        let first = try #require(doubles.first.flatMap(allocationStack))
        let second = try #require(doubles.last.flatMap(allocationStack))
        #expect(first.contains("via_a [test:2]") && !first.contains("via_b"), "\(first)")
        #expect(second.contains("via_b [test:3]") && !second.contains("via_a"), "\(second)")
    }

    @Test func aFreeInANonPowerOfTwoCacheChecksTheObjectBoundary() throws {
        // kmalloc-96 and kmalloc-192 find the object by division, the other
        // classes by a shift: both must refuse a pointer inside an object.
        let h = try KernelHarness()
        h.check("""
            local p = kmalloc(96, GFP_KERNEL)
            local q = kmalloc(192, GFP_KERNEL)
            local r = kmalloc(128, GFP_KERNEL)
            kfree(p + 8); kfree(q + 96); kfree(r + 64)
            kfree(p); kfree(q); kfree(r)
            """)
        #expect(h.reports.filter { $0.kind == .invalidFree }.count == 3)
        #expect(h.reports.filter { $0.kind == .doubleFree }.isEmpty)
        #expect(h.machine.stats.kfrees == 6)
    }
}
