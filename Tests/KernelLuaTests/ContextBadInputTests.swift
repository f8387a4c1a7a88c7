import Testing
import KernelLua
import KernelSim
import LuaBridge

/// Bad input to the context API: handlers that fail or answer wrongly,
/// syscalls that raise, recursion, misused locks. Each gives a clear error
/// or the kernel's own report, the CPU state comes back clean, the host
/// never traps.
@Suite struct ContextBadInputTests {
    /// Asserts the CPU is back in the script's plain process context.
    func expectClean(_ h: KernelHarness, sourceLocation: SourceLocation = #_sourceLocation) {
        let c = h.machine.contexts
        #expect(c.depth == 0 && c.preemptCount == 0 && !c.irqsDisabled && c.currentComm == "insmod",
                sourceLocation: sourceLocation)
    }

    @Test func aHandlerThatErrorsEndsRaiseIrqWithItsMessage() throws {
        let h = try KernelHarness()
        let m = h.errorMessage("""
            function nic_irq(irq, dev) error("no descriptor") end
            request_irq(11, nic_irq, 0, "nic", nil)
            raise_irq(11)
            """)
        #expect(m == "irq 11 handler nic_irq (nic) failed: test:1: no descriptor")
        expectClean(h)
        // the line is usable again afterwards
        #expect(h.values("free_irq(11, nil); request_irq(11, function() return IRQ_HANDLED end, 0, 'nic', nil); return raise_irq(11)") == [.string("delivered")])
    }

    @Test func aHandlerThatReturnsNothingOrANonIntegerIsAnError() throws {
        let h = try KernelHarness()
        let m1 = h.errorMessage("request_irq(11, function() end, 0, 'nic', nil); raise_irq(11)")
        #expect(m1?.hasSuffix("raise_irq: irq 11 handler fn@test:1 (nic) returned nothing: an interrupt handler must return IRQ_HANDLED or IRQ_NONE") == true)
        expectClean(h)
        let m2 = h.errorMessage("request_irq(12, function() return true end, 0, 'x', nil); raise_irq(12)")
        #expect(m2?.contains("returned a boolean (true)") == true)
        expectClean(h)
    }

    @Test func aBogusReturnValueIsTheKernelsReport() throws {
        let h = try KernelHarness()
        let v = h.values("request_irq(11, function() return 42 end, 0, 'nic', nil); return raise_irq(11)")
        #expect(v == [.string("delivered")])
        let r = try #require(h.reports.first)
        #expect(r.kind == .badIrqReturn && r.headline == "irq event 11: bogus return value 2a")
    }

    @Test func anOopsInAHandlerPanicsAndCarriesTheReport() throws {
        let h = try KernelHarness()
        let result = h.run("request_irq(11, function() peek(0) return IRQ_HANDLED end, 0, 'nic', nil); raise_irq(11)")
        guard case .failure(let f) = result else { Issue.record("expected a failure"); return }
        #expect(f.payload is ReportText)
        #expect(f.message.hasPrefix("BUG: kernel NULL pointer dereference, address: 00000000"))
        #expect(h.machine.log.text.contains("Kernel panic - not syncing: Fatal exception in interrupt"))
        #expect(h.reports.first?.kind == .nullPointerDereference && h.reports.first?.context == "hardirq")
        expectClean(h)
    }

    @Test func aHandlerRaisingItsOwnLineIsPendedNotRecursed() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local n, inner = 0, {}
            request_irq(11, function()
              n = n + 1
              if n < 50 then inner[#inner + 1] = raise_irq(11) end
              return IRQ_HANDLED
            end, 0, "nic", nil)
            return raise_irq(11), n, inner[1], #inner
            """)
        #expect(v == [.string("delivered"), .integer(50), .string("pending"), .integer(49)])
        expectClean(h)
    }

    @Test func nestedRaisesOfOtherLinesAreBounded() throws {
        let h = try KernelHarness()
        // each handler enables interrupts and raises the next line: nesting ends at the context limit
        let m = h.errorMessage("""
            for i = 20, 60 do
              request_irq(i, function() local_irq_enable(); raise_irq(i + 1); return IRQ_HANDLED end, 0, "chain" .. i, nil)
            end
            raise_irq(20)
            """)
        #expect(m?.contains("contexts nested too deeply") == true)
        expectClean(h)
    }

    @Test func syscallsThatRaiseOrNestAreErrors() throws {
        let h = try KernelHarness()
        let m1 = h.errorMessage("SYSCALL_DEFINE('bad', function() error('oops') end); user.syscall('bad')")
        #expect(m1 == "syscall bad failed: test:1: oops")
        expectClean(h)
        let m2 = h.errorMessage("SYSCALL_DEFINE('outer', function() return user.syscall('outer') end); user.syscall('outer')")
        #expect(m2?.contains("user.syscall: cannot trap into the kernel from inside the kernel (syscall outer context)") == true)
        expectClean(h)
        let m3 = h.errorMessage("request_irq(11, function() user.syscall('x') return IRQ_HANDLED end, 0, 'n', nil); raise_irq(11)")
        #expect(m3?.contains("(hardirq 11 context)") == true)
        expectClean(h)
        let m4 = h.errorMessage("local l = spin_lock_init(); spin_lock(l); user.syscall('x')")
        #expect(m4?.contains("the CPU is atomic") == true)
        let h5 = try KernelHarness()
        let m5 = h5.errorMessage("SYSCALL_DEFINE('s', function() return {} end); user.syscall('s')")
        #expect(m5?.contains("syscall s returned a table: a syscall returns an integer") == true)
        #expect(h5.errorMessage("user.syscall('x', 1, 2, 3, 4, 5, 6, 7)")?.contains("at most 6 arguments") == true)
        #expect(h.errorMessage("SYSCALL_DEFINE('has space', function() end)")?.contains("SYSCALL_DEFINE") == true)
        #expect(h.errorMessage("SYSCALL_DEFINE('x', 3)")?.contains("fn") == true)
    }

    @Test func aSyscallHandlerInAnEndlessLoopHitsTheBudget() throws {
        let h = try KernelHarness(limits: LuaLimits(maxInstructions: 200_000, maxMemory: 64 << 20))
        let r = h.run("SYSCALL_DEFINE('spin', function() while true do end end); user.syscall('spin')")
        guard case .failure(let f) = r else { Issue.record("expected a failure"); return }
        #expect(f.kind == .instructionLimit)
    }

    @Test func workThatRequeuesItselfIsBounded() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local n = 0
            local function again() n = n + 1; schedule_work(again) end
            schedule_work(again)
            flush_scheduled_work()
            return n
            """)
        #expect(v == [.integer(1001)])
        // many distinct items queued before a flush all run
        #expect(h.values("local n = 0; for i = 1, 3000 do schedule_work(function() n = n + 1 end) end; flush_scheduled_work(); return n") == [.integer(3000)])
    }

    @Test func lockMisuseIsReported() throws {
        let h = try KernelHarness()
        h.run("local l = spin_lock_init(); spin_unlock(l)")
        #expect(h.reports.first?.kind == .badUnlock)
        let h2 = try KernelHarness()
        let m = h2.errorMessage("local l = spin_lock_init('dev->lock'); spin_lock(l); spin_lock(l)")
        #expect(m?.contains("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:412]") == true)
        #expect(h2.reports.contains { $0.kind == .lockRecursion })
        let h3 = try KernelHarness()
        h3.run("local m = mutex_init(); request_irq(11, function() mutex_lock(m); mutex_unlock(m); return IRQ_HANDLED end, 0, 'n', nil); raise_irq(11)")
        #expect(h3.reports.first?.kind == .sleepingInAtomic)
        let h4 = try KernelHarness()
        #expect(h4.errorMessage("spin_lock(mutex_init())")?.contains("spin_lock: lock must be a spinlock") == true)
        #expect(h4.errorMessage("mutex_lock({})")?.contains("mutex must be a mutex") == true)
        #expect(h4.errorMessage("local l = spin_lock_init(); boot{}; spin_lock(l)")?.contains("boot{} has replaced") == true)
        #expect(h4.values("return tostring(spin_lock_init('a'))") == [.string("spinlock_t{&a, unlocked}")])
        #expect(h4.errorMessage("msleep(-1)")?.contains("msleep: ms") == true)
        #expect(h4.errorMessage("tasklet_schedule(1)")?.contains("fn") == true)
        #expect(h4.errorMessage("raise_irq(256)")?.contains("raise_irq: irq") == true)
        #expect(h4.errorMessage("request_irq(11, 'f', 0, 'n', nil)")?.contains("handler") == true)
    }

    @Test func mightSleepNamesTheLuaLine() throws {
        let h = try KernelHarness()
        h.run("local l = spin_lock_init()\nspin_lock(l)\nmight_sleep()\nspin_unlock(l)")
        #expect(h.reports.first?.headline == "BUG: sleeping function called from invalid context at test:3")
        h.run("msleep(8)")
        #expect(h.machine.clockNanoseconds >= 8_000_000)
    }
}

@Suite struct DeferredLifetimeTests {
    /// Fresh closures scheduled in a loop are let go once they have run
    /// (the glue holds a deferred function only while it is queued).
    @Test func deferredClosuresDoNotPileUp() throws {
        let h = try KernelHarness(profile: .trusted)
        func growth(_ n: Int) -> Int64? {
            h.values("""
                collectgarbage(); collectgarbage()
                local before = collectgarbage("count")
                for i = 1, \(n) do schedule_work(function() local x = i end) end
                flush_scheduled_work()
                for i = 1, \(n) do tasklet_schedule(function() local x = i end) end
                msleep(1)
                collectgarbage(); collectgarbage()
                return math.floor(collectgarbage("count") - before)
                """)?.first?.integerValue
        }
        // the first rounds grow the registry and name tables to their working size
        _ = growth(5000)
        _ = growth(5000)
        let again = try #require(growth(5000))
        // 5000 closures kept alive would be hundreds of KiB each round
        #expect(again < 64)
    }
}

@Suite struct ScriptEndTests {
    @Test func finishingTheScriptRunsWhatIsStillDeferred() throws {
        let h = try KernelHarness()
        h.run("done = {}; schedule_work(function() done[#done + 1] = current.comm end); tasklet_schedule(function() done[#done + 1] = 'bh' end)")
        try h.env.finishScript()
        #expect(h.values("return table.concat(done, ' ')") == [.string("bh kworker/0:1")])
    }

    @Test func aScriptEndingUnderASpinlockIsReported() throws {
        let h = try KernelHarness()
        h.run("l = spin_lock_init('held'); spin_lock(l)")
        try h.env.finishScript()
        #expect(h.reports.map(\.kind) == [.warning, .lockHeldReturningToUser])
        #expect(h.reports.first?.headline == "initcall init_module returned with preemption imbalance ")
    }

    @Test func aFailingDeferredFunctionIsThrown() throws {
        let h = try KernelHarness()
        h.run("function late() error('too late') end; schedule_work(late)")
        #expect(throws: LuaFailure.self) { try h.env.finishScript() }
        h.run("schedule_work(function() peek(0) end)")
        #expect(throws: KernelOops.self) { try h.env.finishScript() }
        #expect(h.machine.contexts.depth == 0 && h.machine.contexts.currentComm == "insmod")
    }

    @Test func aScriptThatDiesHoldingALockIsReported() throws {
        let h = try KernelHarness()
        _ = h.errorMessage("l = spin_lock_init('x'); spin_lock(l); peek(0)")
        h.env.scriptDied()
        #expect(h.reports.contains { $0.kind == .locksHeldAtExit })
        #expect(h.machine.contexts.preemptCount == 0)
    }
}
