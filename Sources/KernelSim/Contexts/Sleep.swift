/// Sleeping: `might_sleep()` and its splat (kernel/sched/core.c
/// `__might_resched`), `msleep` and `schedule()` with `__schedule_bug`'s
/// "scheduling while atomic", the watchdog's lockup reports, the hung task
/// detector, and what `do_exit` notes about a task that dies atomic.
extension Machine {
    /// `might_sleep()`: called before anything that may sleep (a sleeping
    /// allocation, vmalloc, msleep, mutex_lock, copy_*_user). Logs the
    /// "BUG: sleeping function called from invalid context at FILE:LINE"
    /// warning when the current context cannot sleep; execution continues.
    /// Rate-limited as `__might_resched` is: at most one splat per second
    /// (HZ jiffies) of simulated time.
    public func mightSleep(file: String, line: Int) {
        mightSleep(file: file, line: line, function: nil)
    }

    /// `might_sleep()` naming the kernel function that called it (the Call
    /// Trace then shows it under `__might_resched`).
    public func mightSleep(file: String, line: Int, function: String?) {
        let cs = contexts
        guard !cs.canSleep else { return }
        // __might_resched(): `if (time_before(jiffies, prev_jiffy + HZ) && prev_jiffy) return;`
        if let last = cs.lastMightReschedNanoseconds, jiffies < last / (1_000_000_000 / cs.hz) + cs.hz {
            cs.suppressedSleepReports += 1
            return
        }
        cs.lastMightReschedNanoseconds = clockNanoseconds
        raise(sleepingInAtomicReport(file: file, line: line, function: function))
    }

    /// The splat itself, without the rate limit (for tests and views).
    public func sleepingInAtomicReport(file: String, line: Int, function: String?) -> KernelReport {
        let cs = contexts
        let headline = "BUG: sleeping function called from invalid context at \(file):\(line)"
        if cs.legacyKernel {
            // 2.6.18 kernel/sched.c __might_sleep(): the two flags, then dump_stack().
            var lines = [headline, "in_atomic():\(cs.inAtomic ? 1 : 0), irqs_disabled():\(cs.irqsDisabled ? 1 : 0)"]
            lines += dumpStackLines(kernelFrames: ["dump_stack", "__might_sleep"] + (function.map { [$0] } ?? []))
            return KernelReport(kind: .sleepingInAtomic, severity: .warning, lines: lines, context: cs.contextName,
                                fields: contextFields(["file": file, "line": String(line), "function": function ?? "",
                                                       "locks_held": String(cs.current.heldLocks.count)]))
        }
        var lines = [headline,
                     "in_atomic(): \(cs.inAtomic ? 1 : 0), irqs_disabled(): \(cs.irqsDisabled ? 1 : 0), non_block: 0, pid: \(cs.currentPid), name: \(cs.currentComm)",
                     "preempt_count: \(String(cs.preemptCount, radix: 16)), expected: 0",
                     "RCU nest depth: 0, expected: 0"]
        lines += cs.showHeldLocksLines(cs.current)
        var frames = ["dump_stack_lvl", "__might_resched"]
        if let function { frames.append(function) }
        lines += dumpStackLines(kernelFrames: frames)
        cs.addTaint(.warn)
        return KernelReport(kind: .sleepingInAtomic, severity: .warning, lines: lines,
                            context: cs.contextName,
                            fields: contextFields(["file": file, "line": String(line),
                                                   "function": function ?? "",
                                                   "locks_held": String(cs.current.heldLocks.count)]))
    }

    /// `msleep(ms)`: sleeps `msecs_to_jiffies(ms)` jiffies (4 ms each at
    /// HZ=250, so `msleep(1)` sleeps 4 ms) through `schedule()`. msleep has no
    /// might_sleep() of its own: in atomic context the scheduler reports
    /// "BUG: scheduling while atomic". `msleep(0)` does not schedule at all.
    public func msleep(_ milliseconds: Int) throws {
        let ms = UInt64(max(0, milliseconds))
        let jiffyMs = 1000 / contexts.hz
        let timeout = (ms + jiffyMs - 1) / jiffyMs
        guard timeout > 0 else { return }
        try schedule(sleepingFor: timeout * jiffyMs * 1_000_000, caller: "msleep")
    }

    /// `schedule()`: lets other work run (the kworker, ksoftirqd). In atomic
    /// context this is `__schedule_bug`.
    public func schedule() throws {
        try schedule(sleepingFor: 0, caller: nil)
    }

    func schedule(sleepingFor ns: UInt64, caller: String?) throws {
        let cs = contexts
        // schedule() runs __schedule() with preemption disabled: the check is
        // in_atomic_preempt_off(), preempt_count() != PREEMPT_DISABLE_OFFSET.
        let pcInSchedule = cs.preemptCount &+ Preempt.preemptOffset
        if pcInSchedule != Preempt.preemptOffset {
            raise(schedulingWhileAtomicReport(preemptCount: pcInSchedule, caller: caller))
            advanceClock(nanoseconds: ns)
            return
        }
        // The context switch returns with interrupts enabled
        // (finish_task_switch), whatever the task had before it slept.
        cs.irqsDisabled = false
        try runDeferredWhileSleeping()
        advanceClock(nanoseconds: ns)
        try deliverPendingIrqs()
    }

    /// `__schedule_bug()`: BUG: scheduling while atomic: COMM/PID/0xCOUNT.
    func schedulingWhileAtomicReport(preemptCount: UInt32, caller: String?) -> KernelReport {
        let cs = contexts
        var hex = String(preemptCount, radix: 16)
        if hex.count < 8 { hex = String(repeating: "0", count: 8 - hex.count) + hex }
        var lines: [String]
        if cs.legacyKernel {
            // 2.6.18 schedule(): "BUG: scheduling while atomic: %s/0x%08x/%d"
            // (comm, preempt count, pid), then dump_stack().
            lines = ["BUG: scheduling while atomic: \(cs.currentComm)/0x\(hex)/\(cs.currentPid)"]
        } else {
            // kernel/sched/core.c __schedule_bug(): comm/pid/count, the held
            // locks, print_modules(), then dump_stack().
            lines = ["BUG: scheduling while atomic: \(cs.currentComm)/\(cs.currentPid)/0x\(hex)"]
            lines += cs.showHeldLocksLines(cs.current)
            lines.append(cs.modulesLinkedInLine)
        }
        var frames = ["dump_stack_lvl", "__schedule_bug", "__schedule", "schedule"]
        if let caller { frames += caller == "msleep" ? ["schedule_timeout", "msleep"] : [caller] }
        lines += dumpStackLines(kernelFrames: frames)
        cs.addTaint(.warn)
        return KernelReport(kind: .schedulingWhileAtomic, severity: .warning, lines: lines,
                            context: cs.contextName,
                            fields: contextFields(["preempt_count_in_schedule": "0x" + hex,
                                                   "function": caller ?? "schedule",
                                                   "locks_held": String(cs.current.heldLocks.count)]))
    }

    /// The CPU spins for ever on `lock`: the watchdog's soft lockup report
    /// (interrupts on) or hard LOCKUP (interrupts off), kernel/watchdog.c.
    /// The simulated task ends: throws `KernelOops`.
    func lockup(spinningOn lock: KernelLock, api: String, after lockdep: KernelReport?) throws -> Never {
        let cs = contexts
        let hard = cs.irqsDisabled
        let headline: String
        if hard {
            advanceClock(nanoseconds: 10_000_000_000)
            headline = "watchdog: Watchdog detected hard LOCKUP on cpu 0"
        } else {
            advanceClock(nanoseconds: 22_000_000_000)
            headline = "watchdog: BUG: soft lockup - CPU#\(cs.cpu) stuck for 22s! [\(cs.currentComm):\(cs.currentPid)]"
        }
        var lines = [headline]
        lines += dumpStackLines(kernelFrames: ["do_raw_spin_lock", api])
        if !hard { cs.addTaint(.softlockup) }
        var fields = contextFields(["lock": lock.name, "lockup": hard ? "hard" : "soft",
                                    "lock_address": cs.px(lock.address)])
        if let owner = lock.owner { fields["owner"] = "\(owner.comm)/\(owner.pid)" }
        if let lockdep { fields["lockdep"] = lockdep.headline }
        var report = KernelReport(kind: .lockup, severity: .oops, lines: lines, address: lock.address,
                                  context: cs.contextName, fields: fields)
        report.headline = headline
        raise(report)
        throw KernelOops(report: report)
    }

    /// The hung task detector (kernel/hung_task.c) finds the current task
    /// waiting for `mutex` for good. The simulated task ends: throws `KernelOops`.
    func hungTask(waitingFor mutex: KernelLock, frames waitFrames: [String] = ["__schedule", "schedule", "schedule_preempt_disabled", "__mutex_lock", "mutex_lock_nested"], after lockdep: KernelReport?) throws -> Never {
        let cs = contexts
        advanceClock(nanoseconds: 120_000_000_000)
        let t = cs.current
        let headline = "INFO: task \(t.comm):\(t.pid) blocked for more than 120 seconds."
        let comm = t.comm.count >= 15 ? String(t.comm.prefix(15)) : t.comm + String(repeating: " ", count: 15 - t.comm.count)
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        var lines = [headline,
                     "      \(cs.taintString) \(cs.kernelRelease) \(cs.kernelBuild)",
                     "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
                     "task:\(comm) state:D stack:0     pid:\(pad(t.pid, 5)) tgid:\(pad(t.pid, 5)) ppid:\(pad(t.kind == .kernelThread ? 2 : 1, 6)) flags:0x00000000"]
        lines += callTraceLines(kernelFrames: waitFrames)
        if cs.debugLocks {
            lines += ["", "Showing all locks held in the system:"]
            for task in [cs.idleTask, cs.ksoftirqd, cs.kworker, cs.scriptTask, cs.userTask] where !task.heldLocks.isEmpty {
                lines += cs.heldLocksLines(task)
            }
            lines += ["", "============================================="]
        } else {
            lines += ["INFO: lockdep is turned off."]
        }
        var fields = contextFields(["lock": mutex.name, "lock_address": cs.px(mutex.address)])
        if let owner = mutex.owner { fields["owner"] = "\(owner.comm)/\(owner.pid)" }
        if let lockdep { fields["lockdep"] = lockdep.headline }
        var report = KernelReport(kind: .hungTask, severity: .oops, lines: lines, address: mutex.address,
                                  context: cs.contextName, fields: fields)
        report.headline = headline
        raise(report)
        throw KernelOops(report: report)
    }

    /// The running task ends (an Oops unwound it, or the script finished):
    /// what `make_task_dead`/`do_exit` note (kernel/exit.c), lockdep's "still
    /// has locks held!" (the locks stay held: nobody releases them), and the
    /// CPU back in the script task's plain process context.
    public func exitCurrentTask() {
        let cs = contexts
        while !cs.frames.isEmpty { abandonFrame() }
        let t = cs.current
        if cs.irqsDisabled {
            printk("note: \(t.comm)[\(t.pid)] exited with irqs disabled")
            cs.irqsDisabled = false
        }
        if cs.inAtomic {
            printk("note: \(t.comm)[\(t.pid)] exited with preempt_count \(cs.preemptCount)")
            cs.preemptCount = 0
        }
        if !t.heldLocks.isEmpty, cs.debugLocksOff() {
            let title = "WARNING: \(t.comm)/\(t.pid) still has locks held!"
            var lines = ["", "=====================================", title, cs.kernelIdent,
                         "-------------------------------------"]
            lines += cs.heldLocksLines(t)
            lines += ["", "stack backtrace:"]
            lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "debug_check_no_locks_held", "do_exit"])
            var r = KernelReport(kind: .locksHeldAtExit, severity: .warning, lines: lines,
                                 context: cs.contextName,
                                 fields: contextFields(["locks_held": String(t.heldLocks.count)]))
            r.headline = title
            raise(r)
        }
    }
}
