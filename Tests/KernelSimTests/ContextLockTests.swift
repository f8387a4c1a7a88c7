import Testing
@testable import KernelSim

/// Spinlocks and mutexes with lockdep in front (kernel/locking/lockdep.c
/// print_deadlock_bug, print_unlock_imbalance_bug, print_usage_bug;
/// kernel/locking/spinlock_debug.c; kernel/watchdog.c; kernel/hung_task.c).
@Suite struct ContextLockTests {
    @Test func spinLockIrqsaveDisablesInterruptsAndReturnsFlags() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&dev->lock")
        let flags = try m.spinLockIrqsave(l)
        #expect(flags == 0x246)
        #expect(m.contexts.irqsDisabled && m.contexts.inAtomic && m.contexts.preemptCount == 1)
        #expect(l.owner === m.contexts.scriptTask)
        #expect(m.contexts.heldLocks.map(\.lock.name) == ["&dev->lock"])
        try m.spinUnlockIrqrestore(l, flags: flags)
        #expect(!m.contexts.irqsDisabled && !m.contexts.inAtomic && !l.isLocked)
        #expect(m.log.reports.isEmpty)
    }

    @Test func takingAHeldSpinlockIsRecursionThenALockup() throws {
        let m = Machine()
        m.callTraceProvider = { [" rx+0x0/0x0 [nic.lua:7]"] }
        let l = m.spinLockInit(name: "&nic->lock")
        try m.spinLock(l)
        let error = try #require(throws: KernelOops.self) { try m.spinLock(l) }
        #expect(error.report.kind == .lockup)
        #expect(error.report.severity == .oops)
        #expect(error.report.headline == "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:412]")
        #expect(error.report.fields["lockdep"] == "WARNING: possible recursive locking detected")
        #expect(m.log.reports.count == 2)
        let r = m.log.reports[0]
        #expect(r.kind == .lockRecursion)
        #expect(r.headline == "WARNING: possible recursive locking detected")
        #expect(r.fields["lock"] == "&nic->lock")
        #expect(Array(r.lines.prefix(26)) == [
            "",
            "============================================",
            "WARNING: possible recursive locking detected",
            "6.12.0 #1 Tainted: G           O      ",
            "--------------------------------------------",
            "insmod/412 is trying to acquire lock:",
            "f8a01000 (&nic->lock){+.+.}-{2:2}, at: rx+0x0/0x0 [nic.lua:7]",
            "",
            "but task is already holding lock:",
            "f8a01000 (&nic->lock){+.+.}-{2:2}, at: rx+0x0/0x0 [nic.lua:7]",
            "",
            "other info that might help us debug this:",
            " Possible unsafe locking scenario:",
            "",
            "       CPU0",
            "       ----",
            "  lock(&nic->lock);",
            "  lock(&nic->lock);",
            "",
            " *** DEADLOCK ***",
            "",
            " May be due to missing lock nesting notation",
            "",
            "1 lock held by insmod/412:",
            " #0: f8a01000 (&nic->lock){+.+.}-{2:2}, at: rx+0x0/0x0 [nic.lua:7]",
            "",
        ])
        #expect(r.lines[26] == "stack backtrace:")
        #expect(r.lines[27] == "CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G           O       6.12.0 #1")
        // the watchdog took 22 simulated seconds and tainted the kernel L
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 22_000_000_000)
        #expect(m.contexts.taintString == "Tainted: G           O L    ")
        // lockdep is off now: a second bug goes unreported (debug_locks_off)
        #expect(!m.contexts.debugLocks)
    }

    @Test func spinningWithInterruptsOffIsAHardLockup() throws {
        let m = Machine()
        let l = m.spinLockInit()
        _ = try m.spinLockIrqsave(l)
        let e = try #require(throws: KernelOops.self) { _ = try m.spinLockIrqsave(l) }
        #expect(e.report.headline == "watchdog: Watchdog detected hard LOCKUP on cpu 0")
        #expect(e.report.fields["lockup"] == "hard")
    }

    @Test func unlockingALockNotHeldIsBadUnlockBalance() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&q->lock")
        try m.spinUnlock(l)
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .badUnlock && r.severity == .warning)
        #expect(Array(r.lines.prefix(14)) == [
            "",
            "=====================================",
            "WARNING: bad unlock balance detected!",
            "6.12.0 #1 Tainted: G           O      ",
            "-------------------------------------",
            "insmod/412 is trying to release lock (&q->lock) at:",
            "_raw_spin_unlock",
            "but there are no more locks to release!",
            "",
            "other info that might help us debug this:",
            "no locks held by insmod/412.",
            "",
            "stack backtrace:",
            "CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G           O       6.12.0 #1",
        ])
        // it continues, and the preempt count did not underflow
        #expect(m.contexts.preemptCount == 0)
    }

    @Test func lockClassesWithTheSameNameGetVersions() throws {
        let m = Machine()
        let a = m.spinLockInit(name: "&lock")
        let b = m.spinLockInit(name: "&lock")
        let c = m.spinLockInit(name: "&lock", classKey: "drv.lua:3")
        let d = m.spinLockInit(name: "&lock", classKey: "drv.lua:3")
        #expect(a.name == "&lock" && b.name == "&lock#2" && c.name == "&lock#3")
        #expect(c.lockClass === d.lockClass)
        // two locks of different classes nest fine
        try m.spinLock(a)
        try m.spinLock(b)
        try m.spinUnlock(b)
        try m.spinUnlock(a)
        #expect(m.log.reports.isEmpty)
        // two locks of one class: lockdep cannot tell them apart
        try m.spinLock(c)
        try m.spinLock(d)
        #expect(m.log.reports.first?.kind == .lockRecursion)
    }

    @Test func mutexInAtomicContextSplatsAtMutexC() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&dev->lock")
        let mu = m.mutexInit(name: "&dev->mutex")
        _ = try m.spinLockIrqsave(l)
        try m.mutexLock(mu)
        let r = try #require(m.log.reports.first)
        #expect(r.headline == "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[4] == "1 lock held by insmod/412:")
        #expect(r.lines.contains(" __mutex_lock"))
        // the mutex was free, so it was taken
        #expect(mu.owner === m.contexts.scriptTask)
        #expect(m.contexts.heldLocks.map(\.lock.name) == ["&dev->lock", "&dev->mutex"])
        // lockdep shows a mutex as {3:3}; taken with irqs off it marks no usage
        #expect(m.contexts.lockLine(mu, site: "x") == "f8a01040 (&dev->mutex){....}-{3:3}, at: x")
    }

    @Test func mutexRecursionHangsTheTask() throws {
        let m = Machine()
        let mu = m.mutexInit(name: "&fs->lock")
        try m.mutexLock(mu)
        let e = try #require(throws: KernelOops.self) { try m.mutexLock(mu) }
        #expect(e.report.kind == .hungTask)
        #expect(e.report.lines[0] == "INFO: task insmod:412 blocked for more than 120 seconds.")
        #expect(e.report.lines[1] == "      Tainted: G           O       6.12.0 #1")
        #expect(e.report.lines[2] == "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.")
        #expect(e.report.lines[3] == "task:insmod          state:D stack:0     pid:412   tgid:412   ppid:1      flags:0x00000000")
        #expect(e.report.fields["owner"] == "insmod/412")
        #expect(m.log.reports.first?.kind == .lockRecursion)
        #expect(m.clockNanoseconds - Machine.moduleLoadUptime == 120_000_000_000)
    }

    @Test func mutexUnlockByAnotherTaskIsBadUnlockBalance() throws {
        let m = Machine()
        let mu = m.mutexInit(name: "&m")
        try m.mutexLock(mu)
        let w = WorkItem(name: "cleanup") { try m.mutexUnlock(mu) }
        m.scheduleWork(w)
        try m.flushScheduledWork()
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .badUnlock)
        #expect(r.lines[5] == "kworker/0:1/27 is trying to release lock (&m) at:")
        #expect(r.fields["owner"] == "insmod/412")
    }

    @Test func processContextLockTakenInAnIrqIsInconsistentLockStateThenDeadlock() throws {
        // The classic: spin_lock() in process context, the same lock in the
        // handler; the interrupt arrives while the lock is held.
        let m = Machine()
        let l = m.spinLockInit(name: "&card->lock")
        #expect(m.requestIrq(11, handler: {
            try m.spinLock(l)
            try m.spinUnlock(l)
            return .handled
        }, flags: 0, name: "card", devId: 1) == 0)
        try m.spinLock(l)
        let e = try #require(throws: KernelOops.self) { try m.raiseIrq(11) }
        #expect(e.report.headline == "watchdog: Watchdog detected hard LOCKUP on cpu 0")
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .inconsistentLockState)
        #expect(r.context == "hardirq")
        #expect(Array(r.lines.prefix(8)) == [
            "",
            "================================",
            "WARNING: inconsistent lock state",
            "6.12.0 #1 Tainted: G           O      ",
            "--------------------------------",
            "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.",
            "insmod/412 [HC1[1]:SC0[0]:HE0:SE1] takes:",
            "f8a01000 (&card->lock){?.+.}-{2:2}, at: _raw_spin_lock",
        ])
        #expect(r.lines[8] == "{HARDIRQ-ON-W} state was registered at:")
        #expect(r.lines.contains("  <Interrupt>"))
        // the interrupt unwound: back in process context, lock still held
        #expect(m.contexts.contextName == "process")
        #expect(m.contexts.preemptCount == 1)
    }

    @Test func irqsaveInProcessContextAndPlainLockInTheHandlerIsFine() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&card->lock")
        _ = m.requestIrq(11, handler: {
            try m.spinLock(l)
            try m.spinUnlock(l)
            return .handled
        }, flags: 0, name: "card", devId: 1)
        let flags = try m.spinLockIrqsave(l)
        #expect(try m.raiseIrq(11) == .pending)
        try m.spinUnlockIrqrestore(l, flags: flags)
        #expect(m.contexts.irqCount(11) == 1)
        #expect(m.log.reports.isEmpty)
        #expect(l.lockClass.usageChars == "-...")
    }
}

@Suite struct ContextTrylockTests {
    @Test func trylockNeverSpinsAndIsNotARecursionReport() throws {
        let m = Machine()
        let a = m.spinLockInit(name: "&a", classKey: "k")
        let b = m.spinLockInit(name: "&a", classKey: "k")
        #expect(try m.spinTrylock(a) == 1)
        #expect(try m.spinTrylock(a) == 0)  // held: fails, no deadlock
        #expect(try m.spinTrylock(b) == 1)  // same class: lockdep does not check trylocks
        #expect(m.log.reports.isEmpty)
        #expect(m.contexts.preemptCount == 2)
        let mu = m.mutexInit()
        #expect(m.mutexTrylock(mu) == 1 && m.mutexTrylock(mu) == 0 && m.mutexIsLocked(mu))
    }
}
