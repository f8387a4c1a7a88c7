import Testing
@testable import KernelSim

/// A line re-raised from its own handler (or two lines raising each other)
/// never nests on the host stack: the kernel masks a line while its handler
/// runs and re-runs it afterwards (kernel/irq/chip.c handle_edge_irq's
/// IRQS_PENDING loop). Storms end in the kernel's words:
/// kernel/irq/spurious.c note_interrupt ("nobody cared", Disabling IRQ #N) or
/// the watchdog (kernel/watchdog.c).
@Suite struct IrqStormTests {
    /// The deepest the context stack got while `body` ran handlers.
    private func maxDepth(_ m: Machine, _ record: inout Int) { record = max(record, m.contexts.depth) }

    @Test func aHandlerRaisingItsOwnLineRunsAgainAfterItReturnsNotInsideItself() throws {
        let m = Machine()
        var runs = 0
        var deepest = 0
        var inside = false
        _ = m.requestIrq(11, handler: {
            #expect(!inside, "the handler was nested inside itself")
            inside = true
            defer { inside = false }
            runs += 1
            deepest = max(deepest, m.contexts.depth)
            if runs < 5_000 { let d = try m.raiseIrq(11); #expect(d == .pending) }
            return .handled
        }, flags: 0, name: "self", devId: 1)
        #expect(try m.raiseIrq(11) == .delivered)
        #expect(runs == 5_000)
        #expect(deepest == 1)
        #expect(m.contexts.pendingInterrupts.isEmpty)
        #expect(m.contexts.depth == 0 && !m.contexts.irqsDisabled)
        #expect(m.log.reports.isEmpty)
    }

    @Test(arguments: [false, true])
    func twoHandlersRaisingEachOthersLinesStayFlat(underIrqsave: Bool) throws {
        let m = Machine()
        var runs = [11: 0, 12: 0]
        var deepest = 0
        for (irq, other) in [(11, 12), (12, 11)] {
            _ = m.requestIrq(irq, handler: {
                runs[irq, default: 0] += 1
                deepest = max(deepest, m.contexts.depth)
                if runs[irq, default: 0] < 3_000 {
                    if underIrqsave {
                        let lock = m.spinLockInit(name: "ping\(irq)")
                        let flags = try m.spinLockIrqsave(lock)
                        _ = try m.raiseIrq(other)
                        try m.spinUnlockIrqrestore(lock, flags: flags)
                    } else {
                        _ = try m.raiseIrq(other)
                    }
                }
                return .handled
            }, flags: 0, name: "ping\(irq)", devId: irq)
        }
        if underIrqsave {
            let lock = m.spinLockInit(name: "outer")
            let flags = try m.spinLockIrqsave(lock)
            #expect(try m.raiseIrq(11) == .pending)
            try m.spinUnlockIrqrestore(lock, flags: flags)
        } else {
            _ = try m.raiseIrq(11)
        }
        #expect(runs[11] == 3_000 && runs[12] == 2_999) // the 3,000th run of 11 raises nothing more
        #expect(deepest == 1)
        #expect(m.contexts.depth == 0)
    }

    @Test func aStormOfUnhandledInterruptsIsNobodyCaredAndTheLineIsDisabled() throws {
        let m = Machine()
        var runs = 0
        _ = m.requestIrq(19, handler: {
            runs += 1
            _ = try m.raiseIrq(19)
            return .none
        }, flags: 0, name: "deaf", devId: 1)
        #expect(try m.raiseIrq(19) == .delivered)
        // note_interrupt(): 100,000 interrupts, more than 99,900 unhandled
        #expect(runs == 100_000)
        let r = try #require(m.log.reports.first)
        #expect(r.headline == "irq 19: nobody cared (try booting with the \"irqpoll\" option)")
        #expect(r.lines.contains("Disabling IRQ #19"))
        #expect(try m.raiseIrq(19) == .unhandled)
    }

    @Test(arguments: [(11, "watchdog: Watchdog detected hard LOCKUP on cpu 0"),
                      (20, "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:412]")])
    func aStormOfHandledInterruptsIsAWatchdogLockupThatEndsTheTask(irq: Int, headline: String) throws {
        let m = Machine()
        m.contexts.irqStormLimit = 2_000
        var runs = 0
        _ = m.requestIrq(irq, handler: {
            runs += 1
            _ = try m.raiseIrq(irq)
            return .handled
        }, flags: 0, name: "storm", devId: 1)
        let before = m.clockNanoseconds
        #expect(throws: KernelOops.self) { try m.raiseIrq(irq) }
        #expect(runs == 2_000)
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .lockup && r.severity == .oops)
        #expect(r.headline == headline)
        #expect(r.fields["irq"] == String(irq))
        #expect(m.clockNanoseconds > before)
        // the storm is over: nothing left pending, the CPU is back in the task
        #expect(m.contexts.pendingInterrupts.isEmpty)
        #expect(m.contexts.depth == 0)
        // and a fresh raise starts counting from zero
        runs = 0
        m.contexts.irqStormLimit = 10
        #expect(throws: KernelOops.self) { try m.raiseIrq(irq) }
        #expect(runs == 10)
    }

    @Test func mutualStormOfHandledInterruptsEndsInASoftLockup() throws {
        let m = Machine()
        m.contexts.irqStormLimit = 500
        for (irq, other) in [(11, 12), (12, 11)] {
            _ = m.requestIrq(irq, handler: { _ = try m.raiseIrq(other); return .handled },
                             flags: 0, name: "ping\(irq)", devId: irq)
        }
        #expect(throws: KernelOops.self) { try m.raiseIrq(11) }
        let r = try #require(m.log.reports.last)
        #expect(r.headline.hasPrefix("watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"))
        #expect(m.contexts.pendingInterrupts.isEmpty)
    }

    @Test func aRetiredMachineRunsNothingMore() throws {
        let m = Machine()
        var ran: [String] = []
        var handlerRuns = 0
        let t1 = Tasklet(name: "t1") {
            ran.append("t1")
            m.localIrqDisable()
            let d = try m.raiseIrq(11)
            #expect(d == .pending)
            m.retire() // what boot{} does to the machine it replaces
        }
        let t2 = Tasklet(name: "t2") { ran.append("t2") }
        let w = WorkItem(name: "w") { ran.append("w") }
        _ = m.requestIrq(11, handler: {
            handlerRuns += 1
            m.taskletSchedule(t1)
            m.taskletSchedule(t2)
            m.scheduleWork(w)
            return .handled
        }, flags: 0, name: "x", devId: 1)
        _ = try m.raiseIrq(11)
        try m.runPendingWork()
        #expect(ran == ["t1"])
        #expect(handlerRuns == 1)
        #expect(m.pendingTaskletCount == 0 && m.pendingWorkCount == 0)
        #expect(try m.raiseIrq(11) == .pending)
        #expect(handlerRuns == 1)
    }
}
