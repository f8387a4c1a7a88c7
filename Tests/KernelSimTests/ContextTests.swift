import Testing
@testable import KernelSim

/// Contexts, preempt count, might_sleep (kernel/sched/core.c __might_resched),
/// msleep/schedule (__schedule_bug), include/linux/preempt.h.
@Suite struct ContextTests {
    @Test func preemptCountLayoutMatchesIncludeLinuxPreemptH() {
        #expect(Preempt.preemptMask == 0x0000_00ff)
        #expect(Preempt.softirqMask == 0x0000_ff00)
        #expect(Preempt.hardirqMask == 0x000f_0000)
        #expect(Preempt.nmiMask == 0x00f0_0000)
        #expect(Preempt.preemptOffset == 0x1)
        #expect(Preempt.softirqOffset == 0x100)
        #expect(Preempt.softirqDisableOffset == 0x200)
        #expect(Preempt.hardirqOffset == 0x10000)
        #expect(Preempt.nmiOffset == 0x100000)
        // BH disabled is in_softirq() and in_interrupt() but still in_task()
        #expect(Preempt.inSoftirq(0x200) && Preempt.inInterrupt(0x200) && Preempt.inTask(0x200))
        #expect(!Preempt.inServingSoftirq(0x200))
        #expect(Preempt.inServingSoftirq(0x100) && !Preempt.inTask(0x100))
        #expect(Preempt.inHardirq(0x10001) && Preempt.inAtomic(0x1) && !Preempt.inAtomic(0))
    }

    @Test func aScriptRunsAsInsmodInProcessContext() {
        let m = Machine()
        let c = m.contexts
        #expect(c.currentComm == "insmod")
        #expect(c.currentPid == 412)
        #expect(c.contextName == "process")
        #expect(c.canSleep)
        #expect(c.inTask && !c.inInterrupt && !c.inIrq && !c.inSoftirq && !c.inAtomic && !c.irqsDisabled)
        #expect(c.preemptCount == 0)
    }

    @Test func mightSleepIsSilentWhereSleepingIsAllowed() {
        let m = Machine()
        m.mightSleep(file: "mm/slub.c", line: 4049)
        #expect(m.log.reports.isEmpty)
    }

    @Test func sleepingUnderASpinlockIsTheMightReschedSplat() throws {
        let m = Machine()
        m.callTraceProvider = { [" probe+0x0/0x0 [drv.lua:12]", " init+0x0/0x0 [drv.lua:30]"] }
        let l = m.spinLockInit(name: "&priv->lock")
        try m.spinLock(l)
        #expect(m.contexts.inAtomic && !m.contexts.canSleep && m.contexts.preemptCount == 1)
        m.mightSleep(file: "mm/slub.c", line: 4049)
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .sleepingInAtomic)
        #expect(r.severity == .warning)
        #expect(r.context == "process")
        #expect(r.headline == "BUG: sleeping function called from invalid context at mm/slub.c:4049")
        #expect(r.fields["preempt_count"] == "1")
        #expect(r.fields["in_atomic"] == "1" && r.fields["irqs_disabled"] == "0")
        #expect(r.fields["pid"] == "412" && r.fields["comm"] == "insmod")
        #expect(Array(r.lines.prefix(6)) == [
            "BUG: sleeping function called from invalid context at mm/slub.c:4049",
            "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 412, name: insmod",
            "preempt_count: 1, expected: 0",
            "RCU nest depth: 0, expected: 0",
            "1 lock held by insmod/412:",
            " #0: f8a01000 (&priv->lock){+.+.}-{2:2}, at: probe+0x0/0x0 [drv.lua:12]",
        ])
        #expect(r.lines[6] == "CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G           O       6.12.0 #1")
        #expect(r.lines[7].hasPrefix("Hardware name: QEMU"))
        #expect(Array(r.lines[8...]) == ["Call Trace:", " <TASK>", " dump_stack_lvl", " __might_resched",
                                          " probe+0x0/0x0 [drv.lua:12]", " init+0x0/0x0 [drv.lua:30]", " </TASK>"])
        // the text went to the log too, and the kernel is now tainted W
        #expect(m.log.text.contains("BUG: sleeping function called from invalid context at mm/slub.c:4049"))
        #expect(m.contexts.taintString == "Tainted: G        W  O      ")
        // execution continues: the lock is still ours
        try m.spinUnlock(l)
        #expect(m.contexts.canSleep)
    }

    @Test func theSplatIsRateLimitedToOncePerSecond() throws {
        let m = Machine()
        m.localIrqDisable()
        m.mightSleep(file: "a.c", line: 1)
        m.mightSleep(file: "b.c", line: 2)
        #expect(m.log.reports.count == 1)
        #expect(m.contexts.suppressedSleepReports == 1)
        m.advanceClock(nanoseconds: 999_000_000)
        m.mightSleep(file: "c.c", line: 3)
        #expect(m.log.reports.count == 1)
        m.advanceClock(nanoseconds: 1_000_000)
        m.mightSleep(file: "d.c", line: 4)
        #expect(m.log.reports.count == 2)
        let r = try #require(m.log.reports.last)
        // irqs off but preempt_count 0: in_atomic() is 0, yet it may not sleep
        #expect(r.lines[1] == "in_atomic(): 0, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[2] == "preempt_count: 0, expected: 0")
        #expect(r.lines[4] == "no locks held by insmod/412.")
        // the second one is stamped a second later (the script starts at moduleLoadUptime)
        let stamp = KernelLog.timestamp(Machine.moduleLoadUptime + 1_000_000_000)
        #expect(m.log.lines.contains { $0.hasPrefix("[\(stamp)] BUG: sleeping function called") })
    }

    @Test func msleepSleepsWholeJiffiesAtHZ250() throws {
        let m = Machine()
        try m.msleep(1)
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 4_000_000)
        try m.msleep(10)  // msecs_to_jiffies(10) = 3 jiffies
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 16_000_000)
        try m.msleep(0)
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 16_000_000)
        #expect(m.jiffies == (Machine.moduleLoadUptime + 16_000_000) / 4_000_000)
        #expect(m.log.reports.isEmpty)
    }

    @Test func msleepUnderASpinlockIsSchedulingWhileAtomic() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&dev->lock")
        try m.spinLock(l)
        try m.msleep(20)
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .schedulingWhileAtomic)
        #expect(r.headline == "BUG: scheduling while atomic: insmod/412/0x00000002")
        #expect(r.lines[1] == "1 lock held by insmod/412:")
        #expect(r.lines.contains(" __schedule_bug") && r.lines.contains(" msleep"))
        #expect(r.fields["preempt_count"] == "1")
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 20_000_000)
        #expect(m.contexts.preemptCount == 1)  // still holding the lock
    }

    @Test func schedulingWithOnlyIrqsOffIsSilentButComesBackWithIrqsOn() throws {
        // schedule_debug() checks in_atomic_preempt_off() only; the context
        // switch returns with interrupts enabled (finish_task_switch).
        let m = Machine()
        m.localIrqDisable()
        try m.schedule()
        #expect(m.log.reports.isEmpty)
        #expect(!m.contexts.irqsDisabled)
    }

    @Test func localIrqSaveRestoreUseEflagsIF() throws {
        let m = Machine()
        let f1 = m.localIrqSave()
        #expect(f1 == 0x246 && m.contexts.irqsDisabled)
        let f2 = m.localIrqSave()
        #expect(f2 == 0x46)
        try m.localIrqRestore(f2)
        #expect(m.contexts.irqsDisabled)
        try m.localIrqRestore(f1)
        #expect(!m.contexts.irqsDisabled)
        #expect(m.log.reports.isEmpty)
        // restoring with interrupts already on: CONFIG_DEBUG_IRQFLAGS' warning, once
        try m.localIrqRestore(0x246)
        try m.localIrqRestore(0x246)
        #expect(m.log.reports.count == 1)
        let r = try #require(m.log.reports.first)
        #expect(r.headline == "raw_local_irq_restore() called with IRQs enabled")
        #expect(r.lines[0] == "------------[ cut here ]------------")
        #expect(r.lines[2] == "WARNING: CPU: 0 PID: 412 at kernel/locking/irqflag-debug.c:10 warn_bogus_irq_restore+0x44/0xc0")
        #expect(r.lines[3] == "Modules linked in: kmlab(O)")
        #expect(r.lines.last == "---[ end trace 0000000000000000 ]---")
    }

    @Test func taskExitNotesAtomicState() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&l")
        _ = try m.spinLockIrqsave(l)
        m.exitCurrentTask()
        let text = m.log.text
        #expect(text.contains("note: insmod[412] exited with irqs disabled"))
        #expect(text.contains("note: insmod[412] exited with preempt_count 1"))
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .locksHeldAtExit)
        #expect(r.headline == "WARNING: insmod/412 still has locks held!")
        #expect(m.contexts.canSleep)
        #expect(l.isLocked)  // nobody ever releases it
    }

    @Test func errnoValuesAreTheKernels() {
        #expect(Errno.EFAULT.negated == -14)
        #expect(Errno.ENOMEM.negated == -12)
        #expect(Errno.EINVAL.negated == -22)
        #expect(Errno.EBUSY.negated == -16)
        #expect(Errno.ENOSYS.negated == -38)
        #expect(Errno.EAGAIN.negated == -11)
        #expect(Errno.EWOULDBLOCK == .EAGAIN)
        #expect(Errno.EPERM.rawValue == 1 && Errno.EIO.rawValue == 5 && Errno.ENODEV.rawValue == 19)
        #expect(Errno.name(of: -16) == "EBUSY")
    }

    @Test func pointerWidthFollowsTheArchitecture() {
        let m = Machine()
        #expect(m.contexts.px(0xc1234) == "000c1234")
        m.contexts.pointerBits = 64
        #expect(m.contexts.px(0xffff_8880_0123_4560) == "ffff888001234560")
        let l = m.spinLockInit()
        #expect(m.contexts.px(l.address) == "ffffffffc0a01000")
    }
}

/// The script's end: do_one_initcall (init/main.c) and the return to user space.
@Suite struct ContextScriptEndTests {
    @Test func aCleanScriptEndsSilentlyAndRunsDeferredWork() throws {
        let m = Machine()
        var ran = false
        m.scheduleWork(WorkItem(name: "w") { ran = true })
        try m.finishScript()
        #expect(ran)
        #expect(m.log.reports.isEmpty)
    }

    @Test func anInitcallLeavingALockHeldIsWarnedAboutTwice() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&dev->lock")
        _ = try m.spinLockIrqsave(l)
        try m.finishScript(initcall: "nic_init [nic.lua:1]")
        #expect(m.log.reports.map(\.headline) == [
            "initcall nic_init [nic.lua:1] returned with preemption imbalance disabled interrupts ",
            "WARNING: lock held when returning to user space!",
        ])
        #expect(m.log.reports[0].lines[2] == "WARNING: CPU: 0 PID: 412 at init/main.c:1230 do_one_initcall+0xa0/0xc0")
        #expect(m.log.reports[1].lines[5] == "insmod/412 is leaving the kernel with locks still held!")
        #expect(m.contexts.canSleep)
    }

    @Test func lockdepNamesTheScriptCallerNotTheApiFunction() throws {
        let m = Machine()
        m.callTraceProvider = { [" spin_lock", " probe [drv.lua:12]", " <chunk> [drv.lua:30]"] }
        let l = m.spinLockInit(name: "&l")
        try m.spinLock(l)
        #expect(m.contexts.heldLocks.first?.site == "probe [drv.lua:12]")
    }
}
