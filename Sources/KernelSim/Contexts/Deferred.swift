/// Deferred work: tasklets (TASKLET_SOFTIRQ, kernel/softirq.c) and the
/// system workqueue (kernel/workqueue.c), run deterministically:
///
/// - tasklets run in softirq context on irq exit (when the interrupt did not
///   interrupt interrupt context), on `local_bh_enable`, or, when scheduled
///   from process context or left over after MAX_SOFTIRQ_RESTART rounds, in
///   ksoftirqd/0 the next time the running task sleeps or the run drains;
/// - work items run in process context of kworker/0:1 (sleeping allowed) on
///   `flush_scheduled_work`, whenever the running task sleeps, and when the
///   run drains (`runPendingWork`).
///
/// Both run in the order they were scheduled; scheduling one that is already
/// pending does nothing (and says so by returning false), as in the kernel.

/// A `struct tasklet_struct`. The glue keeps one per Lua function so that
/// scheduling the same function twice before it runs queues it once.
public final class Tasklet {
    /// The function's name (`%ps` in reports).
    public let name: String
    let function: () throws -> Void
    /// TASKLET_STATE_SCHED.
    public internal(set) var isScheduled = false
    public internal(set) var runCount = 0
    public init(name: String, _ function: @escaping () throws -> Void) {
        self.name = name
        self.function = function
    }
}

/// A `struct work_struct`.
public final class WorkItem {
    /// The work function's name (the `Workqueue: events NAME` line).
    public let name: String
    let function: () throws -> Void
    /// WORK_STRUCT_PENDING.
    public internal(set) var isPending = false
    public internal(set) var runCount = 0
    public init(name: String, _ function: @escaping () throws -> Void) {
        self.name = name
        self.function = function
    }
}

extension Machine {
    // MARK: tasklets

    /// `tasklet_schedule()`: false if it was already scheduled.
    @discardableResult
    public func taskletSchedule(_ tasklet: Tasklet) -> Bool {
        guard !tasklet.isScheduled else { return false }
        tasklet.isScheduled = true
        contexts.taskletQueue.append(tasklet)
        return true
    }

    /// Runs pending tasklets in softirq context (`__do_softirq`): softirqs
    /// off (SOFTIRQ_OFFSET), interrupts on, up to MAX_SOFTIRQ_RESTART rounds;
    /// what is left waits for ksoftirqd.
    func runSoftirqs(onIrqExit: Bool, viaKsoftirqd: Bool = false) throws {
        let cs = contexts
        let entry: [String]
        if viaKsoftirqd {
            entry = ["tasklet_action_common", "handle_softirqs", "run_ksoftirqd", "smpboot_thread_fn",
                     "kthread", "ret_from_fork", "ret_from_fork_asm"]
        } else if onIrqExit {
            entry = ["tasklet_action_common", "handle_softirqs", "__irq_exit_rcu", "irq_exit_rcu",
                     "common_interrupt"]
        } else {
            entry = ["tasklet_action_common", "handle_softirqs", "__local_bh_enable_ip"]
        }
        try enterFrame(.softirq, task: viaKsoftirqd ? cs.ksoftirqd : nil, addPreempt: Preempt.softirqOffset,
                       disableIrqs: false, entryFrames: entry, onIrqStack: onIrqExit,
                       endsStack: viaKsoftirqd, resumeFrames: onIrqExit ? ["asm_common_interrupt"] : [])
        do {
            try deliverPendingIrqs()
            var rounds = 0
            while !cs.taskletQueue.isEmpty && rounds < cs.maxSoftirqRestart && !isRetired {
                let batch = cs.taskletQueue
                cs.taskletQueue.removeAll()
                for (i, t) in batch.enumerated() {
                    // boot{} from a tasklet replaced this machine: the rest is dropped.
                    if isRetired { break }
                    t.isScheduled = false
                    t.runCount += 1
                    let before = cs.preemptCount
                    do {
                        try t.function()
                    } catch {
                        // the rest of this round stays scheduled
                        cs.taskletQueue.insert(contentsOf: batch[(i + 1)...], at: 0)
                        throw error
                    }
                    if cs.preemptCount != before {
                        printk("huh, entered softirq 6 TASKLET \(cs.px(0x9e3779b9)) with preempt_count \(hex8(before)), exited with \(hex8(cs.preemptCount))?")
                        cs.preemptCount = before
                    }
                    if cs.irqsDisabled {
                        // handle_softirqs() re-enables them between handlers
                        cs.irqsDisabled = false
                    }
                    try deliverPendingIrqs()
                }
                rounds += 1
            }
        } catch {
            interruptDied(error)
            abandonFrame()
            throw error
        }
        exitFrame(removePreempt: Preempt.softirqOffset)
    }

    private func hex8(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - h.count)) + h
    }

    // MARK: work

    /// `schedule_work()`: false if it was already pending.
    @discardableResult
    public func scheduleWork(_ work: WorkItem) -> Bool {
        guard !work.isPending else { return false }
        work.isPending = true
        contexts.workQueue.append(work)
        return true
    }

    /// Work items waiting on the system workqueue.
    public var pendingWorkCount: Int { contexts.workQueue.count }
    /// Tasklets waiting to run.
    public var pendingTaskletCount: Int { contexts.taskletQueue.count }

    /// `flush_scheduled_work()`: runs everything queued on the system
    /// workqueue, in order, in kworker/0:1. It sleeps (might_sleep). From
    /// inside a work item it waits for itself: lockdep's recursive locking
    /// on `(wq_completion)events`, then a hung task (`KernelOops`).
    public func flushScheduledWork() throws {
        let cs = contexts
        // __flush_workqueue(): mutex_lock(&wq->mutex)
        mightSleep(file: "kernel/locking/mutex.c", line: 585, function: "__flush_workqueue")
        let map = wqLockdepMap
        if cs.current === cs.kworker, cs.runningWork != nil {
            let report = lockdepAcquire(map, site: callSite(fallback: "__flush_workqueue"))
            try hungTask(waitingFor: map, frames: ["__schedule", "schedule", "schedule_timeout",
                                                   "__wait_for_common", "__flush_workqueue"],
                         after: report)
        }
        // lock_map_acquire(&wq->lockdep_map); lock_map_release(...)
        lockdepAcquire(map, site: callSite(fallback: "__flush_workqueue"))
        try runWorkItems()
        try runKsoftirqd()
    }

    /// Everything deferred, until nothing is left: tasklets in ksoftirqd and
    /// work in the kworker (bounded by `maxWorkItemsPerFlush`). The glue
    /// calls this when a script's top level has finished.
    public func runPendingWork() throws {
        var guardRounds = 0
        while (!contexts.taskletQueue.isEmpty || !contexts.workQueue.isEmpty) && guardRounds < 100 && !isRetired {
            try runKsoftirqd()
            try runWorkItems()
            guardRounds += 1
        }
    }

    /// What runs while the current task sleeps: ksoftirqd, then the kworker
    /// (unless the sleeper is the kworker itself).
    func runDeferredWhileSleeping() throws {
        try runKsoftirqd()
        if contexts.current !== contexts.kworker && contexts.frames.allSatisfy({ if case .work = $0.kind { return false } else { return true } }) {
            try runWorkItems()
        }
    }

    func runKsoftirqd() throws {
        guard !contexts.taskletQueue.isEmpty, !contexts.inInterrupt,
              !contexts.frames.contains(where: { if case .softirq = $0.kind { return true } else { return false } })
        else { return }
        try runSoftirqs(onIrqExit: false, viaKsoftirqd: true)
    }

    /// The kworker's `worker_thread` loop: `process_one_work` for each item.
    func runWorkItems() throws {
        let cs = contexts
        guard !cs.frames.contains(where: { if case .work = $0.kind { return true } else { return false } }) else { return }
        // Everything queued now runs; of what gets queued meanwhile (a work
        // item requeueing itself), at most maxWorkItemsPerFlush more.
        let limit = cs.workQueue.count + cs.maxWorkItemsPerFlush
        var ran = 0
        while ran < limit, !cs.workQueue.isEmpty, !isRetired {
            let work = cs.workQueue.removeFirst()
            work.isPending = false
            work.runCount += 1
            ran += 1
            try processOneWork(work)
        }
    }

    func processOneWork(_ work: WorkItem) throws {
        let cs = contexts
        try enterFrame(.work(work.name), task: cs.kworker, disableIrqs: false,
                       entryFrames: ["process_one_work", "worker_thread", "kthread", "ret_from_fork",
                                     "ret_from_fork_asm"],
                       onIrqStack: false, endsStack: true)
        let savedPreempt = cs.preemptCount
        cs.preemptCount = 0
        cs.runningWork = work
        // lock_map_acquire(&pwq->wq->lockdep_map); lock_map_acquire(&lockdep_map);
        let wqMap = wqLockdepMap
        let workMap = workLockdepMap(work)
        let startDepth = cs.kworker.heldLocks.count
        for map in [wqMap, workMap] {
            lockdepAcquire(map, site: "process_one_work")
            cs.kworker.heldLocks.append(HeldLock(lock: map, site: "process_one_work", hardirqsOff: false))
        }
        func leave() {
            cs.kworker.heldLocks.removeAll { $0.lock === wqMap || $0.lock === workMap }
            cs.runningWork = nil
            exitFrame()
            cs.preemptCount = savedPreempt
        }
        do {
            try work.function()
        } catch {
            leave()
            throw error
        }
        cs.kworker.heldLocks.removeAll { $0.lock === wqMap || $0.lock === workMap }
        let depth = cs.kworker.heldLocks.count
        if cs.inAtomic || depth > startDepth {
            // process_one_work(): "BUG: workqueue leaked atomic, lock or RCU"
            let headline = "BUG: workqueue leaked atomic, lock or RCU: \(cs.kworker.comm)[\(cs.kworker.pid)]"
            var lines = [headline,
                         "     preempt=0x\(hex8(cs.preemptCount)) lock=\(startDepth)->\(depth) RCU=0 workfn=\(work.name)"]
            lines += cs.showHeldLocksLines(cs.kworker)
            lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "process_one_work"])
            var r = KernelReport(kind: .workqueueLeak, severity: .warning, lines: lines,
                                 context: cs.contextName,
                                 fields: contextFields(["work": work.name, "locks_held": String(depth)]))
            r.headline = headline
            raise(r)
        }
        if cs.irqsDisabled { cs.irqsDisabled = false }
        cs.runningWork = nil
        exitFrame()
        cs.preemptCount = savedPreempt
    }

    /// The system workqueue's lockdep map, `(wq_completion)events`.
    var wqLockdepMap: KernelLock {
        if let m = contexts.wqMap { return m }
        let cls = contexts.lockClass(name: "(wq_completion)events", key: "wq:events", waitType: 0)
        let m = KernelLock(lockClass: cls, address: contexts.nextLockObjectAddress(size: 64))
        contexts.wqMap = m
        return m
    }

    private func workLockdepMap(_ work: WorkItem) -> KernelLock {
        if let m = contexts.workMaps[work.name] { return m }
        let cls = contexts.lockClass(name: "(work_completion)(&\(work.name))", key: "work:\(work.name)", waitType: 0)
        let m = KernelLock(lockClass: cls, address: contexts.nextLockObjectAddress(size: 64))
        contexts.workMaps[work.name] = m
        return m
    }
}
