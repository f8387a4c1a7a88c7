import Testing
@testable import KernelSim

/// Tasklets (kernel/softirq.c) and the system workqueue (kernel/workqueue.c).
@Suite struct IrqDeferredTests {
    @Test func aTaskletScheduledByTheHandlerRunsInSoftirqOnIrqExit() throws {
        let m = Machine()
        var order: [String] = []
        var inside: [String] = []
        let t = Tasklet(name: "rx_tasklet") {
            let c = m.contexts
            inside = [c.contextName, "\(c.inSoftirq)", "\(c.inServingSoftirq)", "\(c.inInterrupt)",
                      "\(c.inIrq)", "\(c.inTask)", "\(c.irqsDisabled)", String(c.preemptCount, radix: 16),
                      "\(c.canSleep)"]
            order.append("tasklet")
        }
        _ = m.requestIrq(11, handler: {
            order.append("handler")
            #expect(m.taskletSchedule(t))
            #expect(!m.taskletSchedule(t))  // TASKLET_STATE_SCHED
            return .handled
        }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(order == ["handler", "tasklet"])
        #expect(inside == ["softirq", "true", "true", "true", "false", "false", "false", "100", "false"])
        #expect(t.runCount == 1 && !t.isScheduled)
    }

    @Test func gfpKernelInATaskletIsReportedAsSoftirq() throws {
        let m = Machine()
        let t = Tasklet(name: "t") { m.mightSleep(file: "mm/slub.c", line: 1) }
        m.taskletSchedule(t)
        _ = m.requestIrq(11, handler: { .handled }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        let r = try #require(m.log.reports.first)
        #expect(r.context == "softirq")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[2] == "preempt_count: 100, expected: 0")
        #expect(r.lines.contains(" handle_softirqs"))
    }

    @Test func aTaskletScheduledFromProcessContextWaitsForKsoftirqd() throws {
        let m = Machine()
        var who = ""
        let t = Tasklet(name: "t") { who = "\(m.contexts.currentComm)/\(m.contexts.currentPid) \(m.contexts.contextName)" }
        m.taskletSchedule(t)
        #expect(t.runCount == 0)
        try m.msleep(1)
        #expect(who == "ksoftirqd/0/14 softirq")
    }

    @Test func tasklestsScheduledWithBhDisabledRunAtLocalBhEnable() throws {
        let m = Machine()
        let l = m.spinLockInit()
        let t = Tasklet(name: "t") {}
        try m.spinLockBh(l)
        #expect(m.contexts.inSoftirq && !m.contexts.inServingSoftirq && m.contexts.preemptCount == 0x201)
        m.taskletSchedule(t)
        _ = m.requestIrq(11, handler: { .handled }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)  // irq exit: in_interrupt() (BH off): no softirq
        #expect(t.runCount == 0)
        try m.spinUnlockBh(l)
        #expect(t.runCount == 1)
    }

    @Test func aSelfReschedulingTaskletIsBoundedPerIrqExit() throws {
        let m = Machine()
        var t: Tasklet!
        t = Tasklet(name: "again") { m.taskletSchedule(t) }
        _ = m.requestIrq(11, handler: { m.taskletSchedule(t); return .handled }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(t.runCount == 10)  // MAX_SOFTIRQ_RESTART
        #expect(m.pendingTaskletCount == 1)
    }

    @Test func aTaskletLeakingASpinlockIsCaught() throws {
        let m = Machine()
        let l = m.spinLockInit()
        let t = Tasklet(name: "t") { try m.spinLock(l) }
        m.taskletSchedule(t)
        try m.runPendingWork()
        #expect(m.log.text.contains("huh, entered softirq 6 TASKLET"))
        #expect(m.log.text.contains("with preempt_count 00000100, exited with 00000101?"))
        #expect(m.contexts.preemptCount == 0)
    }

    @Test func workRunsInAKworkerWhereSleepingIsFine() throws {
        let m = Machine()
        var inside: [String] = []
        let w = WorkItem(name: "refill_work") {
            let c = m.contexts
            inside = [c.contextName, c.currentComm, String(c.currentPid), "\(c.canSleep)", "\(c.inTask)"]
            m.mightSleep(file: "mm/slub.c", line: 1)
            try m.msleep(10)
            inside += c.heldLocks.map(\.lock.name)
        }
        _ = m.requestIrq(11, handler: { m.scheduleWork(w); return .handled }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(w.isPending && m.pendingWorkCount == 1)
        try m.flushScheduledWork()
        #expect(inside == ["kworker", "kworker/0:1", "27", "true", "true",
                           "(wq_completion)events", "(work_completion)(&refill_work)"])
        #expect(m.log.reports.isEmpty)
        #expect(w.runCount == 1 && !w.isPending)
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 12_000_000)
    }

    @Test func reportsFromAWorkItemShowTheWorkqueue() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&l")
        let w = WorkItem(name: "bad_work") {
            try m.spinLock(l)
            m.mightSleep(file: "mm/slub.c", line: 1)
            try m.spinUnlock(l)
        }
        m.scheduleWork(w)
        try m.flushScheduledWork()
        let r = try #require(m.log.reports.first)
        #expect(r.context == "kworker")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 27, name: kworker/0:1")
        #expect(r.lines[4] == "3 locks held by kworker/0:1/27:")
        #expect(r.lines.contains("Workqueue: events bad_work"))
        #expect(Array(r.lines.suffix(8)) == [" dump_stack_lvl", " __might_resched", " process_one_work",
                                             " worker_thread", " kthread", " ret_from_fork", " ret_from_fork_asm",
                                             " </TASK>"])
    }

    @Test func aWorkItemLeakingALockIsReported() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&l")
        m.scheduleWork(WorkItem(name: "leaky") { try m.spinLock(l) })
        try m.flushScheduledWork()
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .workqueueLeak)
        #expect(r.headline == "BUG: workqueue leaked atomic, lock or RCU: kworker/0:1[27]")
        #expect(r.lines[1] == "     preempt=0x00000001 lock=0->1 RCU=0 workfn=leaky")
        #expect(m.contexts.preemptCount == 0 && m.contexts.currentComm == "insmod")
    }

    @Test func scheduleWorkTwiceQueuesOnceAndRunsInOrder() throws {
        let m = Machine()
        var order: [String] = []
        let a = WorkItem(name: "a") { order.append("a") }
        let b = WorkItem(name: "b") { order.append("b") }
        #expect(m.scheduleWork(b))
        #expect(m.scheduleWork(a))
        #expect(!m.scheduleWork(b))
        try m.runPendingWork()
        #expect(order == ["b", "a"])
    }

    @Test func flushingTheWorkqueueFromItsOwnWorkDeadlocks() throws {
        let m = Machine()
        m.scheduleWork(WorkItem(name: "selfish") { try m.flushScheduledWork() })
        let e = try #require(throws: KernelOops.self) { try m.flushScheduledWork() }
        #expect(e.report.kind == .hungTask)
        #expect(e.report.headline == "INFO: task kworker/0:1:27 blocked for more than 120 seconds.")
        #expect(m.log.reports.first?.headline == "WARNING: possible recursive locking detected")
        #expect(m.log.reports.first?.lines[6].contains("((wq_completion)events){+.+.}-{0:0}") == true)
        #expect(m.contexts.currentComm == "insmod" && m.contexts.depth == 0)
    }

    @Test func aWorkItemRequeueingItselfIsBounded() throws {
        let m = Machine()
        m.contexts.maxWorkItemsPerFlush = 25
        var w: WorkItem!
        w = WorkItem(name: "forever") { m.scheduleWork(w) }
        m.scheduleWork(w)
        try m.flushScheduledWork()
        #expect(w.runCount == 26) // the one queued before the flush, then 25 requeues
        #expect(w.isPending)
    }

    @Test func nestingIsBounded() throws {
        let m = Machine()
        m.contexts.maxContextDepth = 3
        // a handler that re-enables interrupts lets the next one nest
        var depth = 0
        for irq in 10...14 {
            _ = m.requestIrq(irq, handler: {
                depth = max(depth, m.contexts.depth)
                try m.localIrqEnable()
                if irq < 14 { try m.raiseIrq(irq + 1) }
                return .handled
            }, flags: 0, name: "n\(irq)", devId: irq)
        }
        #expect(throws: ContextError.self) { try m.raiseIrq(10) }
        #expect(depth == 3)
        #expect(m.contexts.depth == 0)
        #expect(m.log.reports.first?.headline == "irq 10 handler n10 enabled interrupts" || m.log.reports.isEmpty)
    }
}
