/// The CPUs of an SMP machine (`boot{cpus=N}`): which CPU code runs on, the
/// CPUs' own tasks, function-call IPIs (kernel/smp.c) and `work_on_cpu`
/// (kernel/workqueue.c).
///
/// The simulation runs one thing at a time. CPU 0 runs the script; the other
/// CPUs sit in their idle loops until an IPI or a work item gives them
/// something to do, which runs at once, to completion, in a context frame
/// on that CPU (so `smp_processor_id()`, `current` and the TLB in use are
/// that CPU's), and then the caller's CPU carries on.

/// One online CPU's own state.
final class CpuState {
    /// `swapper/N`, the idle task an IPI interrupts.
    let idle: Task
    /// `kworker/N:1`, the per-CPU worker that runs `work_on_cpu` functions.
    let kworker: Task
    /// `irq_stat.irq_call_count`: function-call IPIs received (the `CAL:` row).
    var callCount: UInt64 = 0
    /// `irq_stat.irq_tlb_count`: remote flushes of a user address space
    /// received (the `TLB:` row; arch/x86/mm/tlb.c flush_tlb_func()).
    var tlbCount: UInt64 = 0

    init(idle: Task, kworker: Task) {
        self.idle = idle
        self.kworker = kworker
    }
}

extension ExecutionState {
    /// Brings CPUs 0 ..< n online. CPU 0's tasks are the ones the rest of
    /// the simulation already knows (swapper/0, kworker/0:1).
    func bringUpCPUs(_ n: Int) {
        cpus = (0..<max(1, n)).map { i in
            if i == 0 { return CpuState(idle: idleTask, kworker: kworker) }
            // Each secondary CPU's kthreads are created together at boot
            // (cpuhp/N, migration/N, ksoftirqd/N, kworker/N:0, ...): pids in
            // steps of six after CPU 0's, below the module loader's.
            return CpuState(idle: Task(pid: 0, comm: "swapper/\(i)", kind: .idle),
                            kworker: Task(pid: 27 + 6 * i, comm: "kworker/\(i):1", kind: .kernelThread))
        }
    }

    /// `num_online_cpus()`.
    public var onlineCPUs: Int { cpus.count }

    /// Function-call IPIs CPU `cpu` has received (its `CAL:` count).
    public func callInterrupts(cpu: Int) -> UInt64 {
        cpu >= 0 && cpu < cpus.count ? cpus[cpu].callCount : 0
    }

    /// Is the running task bound to this CPU (a per-CPU kthread), so that
    /// the CPU cannot change under it? (`is_percpu_thread()`.)
    var runsPerCPUThread: Bool {
        current.kind == .idle || current.isWorker || current === ksoftirqd
    }
}

extension Machine {
    /// Makes `cpu` the running CPU: its number and its TLB.
    func switchToCPU(_ cpu: Int) {
        guard cpu >= 0, cpu < tlbs.count else { return }
        contexts.cpu = cpu
        tlb = tlbs[cpu]
    }

    /// `num_online_cpus()`.
    public var numOnlineCPUs: Int { contexts.onlineCPUs }

    /// `smp_processor_id()` with CONFIG_DEBUG_PREEMPT (lib/smp_processor_id.c
    /// check_preemption_disabled()): called where the task could be
    /// preempted and moved to another CPU — preempt count zero, interrupts
    /// on, not a per-CPU kthread — the kernel prints `BUG: using
    /// smp_processor_id() in preemptible [00000000] code: COMM/PID`, the
    /// caller and a stack dump, rate-limited by printk_ratelimit(), and goes
    /// on. 6.12 checks is_percpu_thread(), not the number of CPUs, so one
    /// CPU online does not silence it.
    public func smpProcessorId() -> Int {
        let cs = contexts
        if cs.preemptCount == 0 && !cs.irqsDisabled && !cs.runsPerCPUThread
            && smpIdRatelimit.check(at: clockNanoseconds).allowed {
            let headline = "BUG: using smp_processor_id() in preemptible [00000000] code: \(cs.currentComm)/\(cs.currentPid)"
            var lines = [headline, "caller is \(scriptCallerSite)"]
            lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "check_preemption_disabled"])
            var report = KernelReport(kind: .bug, severity: .warning, lines: lines, context: cs.contextName,
                                      fields: contextFields(["function": "smp_processor_id"]))
            report.headline = headline
            raise(report)
        }
        return cs.cpu
    }

    /// `smp_call_function_single(cpu, func, info, wait)` (kernel/smp.c):
    /// runs `function` on `cpu` and returns 0, or -ENXIO when that CPU is not
    /// online. On the calling CPU it runs at once with interrupts off
    /// (local_irq_save) and preemption off (get_cpu): no IPI. On another CPU
    /// a function-call IPI interrupts that CPU's idle loop and the function
    /// runs there in hardirq context, with interrupts off; the IPI counts in
    /// that CPU's `CAL:` column and in `stats().ipis`.
    ///
    /// `wait`: the simulation runs the function to completion before
    /// returning either way — with wait=false the kernel would return as
    /// soon as the IPI is sent, and the caller could not tell when it ran.
    /// The kernel's two WARN_ON_ONCE checks come first: interrupts disabled
    /// (csd_lock_wait could deadlock) and not in task context.
    @discardableResult
    public func smpCallFunctionSingle(cpu: Int, wait: Bool, _ function: () throws -> Void) throws -> Int {
        let cs = contexts
        if cs.irqsDisabled {
            warnOnce(site: "smp_call_function_single-irqs", message: "", file: KernelSite.smpCallIrqsDisabled.0,
                     line: KernelSite.smpCallIrqsDisabled.1, function: "smp_call_function_single")
        }
        if !cs.inTask {
            warnOnce(site: "smp_call_function_single-task", message: "", file: KernelSite.smpCallNotTask.0,
                     line: KernelSite.smpCallNotTask.1, function: "smp_call_function_single")
        }
        if cpu == cs.cpu {
            // generic_exec_single(): local_irq_save(); func(info); local_irq_restore(),
            // inside smp_call_function_single()'s get_cpu()/put_cpu().
            let savedIrqs = cs.irqsDisabled
            let savedPreempt = cs.preemptCount
            cs.preemptCount &+= 1
            cs.irqsDisabled = true
            defer {
                cs.irqsDisabled = savedIrqs
                cs.preemptCount = savedPreempt
            }
            try function()
            return 0
        }
        guard cpu >= 0, cpu < cs.onlineCPUs else { return Errno.ENXIO.negated }
        try runIPI(on: cpu, function)
        return 0
    }

    /// A function-call IPI to `cpu` and its handler: sysvec_call_function_single
    /// → __flush_smp_call_function_queue → the function, in hardirq context on
    /// that CPU, interrupting its idle task (whose preempt count is
    /// PREEMPT_DISABLED, 1, as init_idle_preempt_count sets it).
    func runIPI(on cpu: Int, _ function: () throws -> Void) throws {
        let cs = contexts
        sendIPI(to: cpu)
        try enterFrame(.ipi(cpu), task: cs.cpus[cpu].idle, addPreempt: Preempt.hardirqOffset, disableIrqs: true,
                       entryFrames: ["__flush_smp_call_function_queue", "__sysvec_call_function_single",
                                     "sysvec_call_function_single"],
                       onIrqStack: true, endsStack: true, cpu: cpu, preemptBase: 1)
        do {
            try function()
        } catch {
            interruptDied(error)
            abandonFrame()
            throw error
        }
        exitFrame(removePreempt: Preempt.hardirqOffset)
    }

    /// Counts one function-call IPI sent to `cpu` (arch/x86/kernel/smp.c
    /// sysvec_call_function_single: inc_irq_stat(irq_call_count)) and
    /// charges its round trip.
    func sendIPI(to cpu: Int) {
        guard cpu >= 0, cpu < contexts.cpus.count else { return }
        contexts.cpus[cpu].callCount &+= 1
        stats.ipis &+= 1
        charge(Cost.ipi)
    }

    /// `work_on_cpu(cpu, fn)` (kernel/workqueue.c work_on_cpu_key): queues
    /// the function on `cpu`'s system workqueue pool and waits for it
    /// (flush_work, so the caller may sleep), then returns its result. It
    /// runs in process context in `kworker/N:1` on that CPU, where sleeping
    /// is allowed. Throws `KernelArgumentError` for a CPU that is not online
    /// (the kernel does not check; kmlab names the mistake).
    public func workOnCPU<T>(_ cpu: Int, _ function: () throws -> T) throws -> T {
        let cs = contexts
        guard cpu >= 0, cpu < cs.onlineCPUs else {
            throw KernelArgumentError("work_on_cpu", "cpu", "must be an online CPU (0..\(cs.onlineCPUs - 1)), got \(cpu)")
        }
        // flush_work() → wait_for_completion() → __wait_for_common(): might_sleep().
        mightSleep(file: KernelSite.waitForCompletion.0, line: KernelSite.waitForCompletion.1,
                   function: "__flush_work")
        let worker = cs.cpus[cpu].kworker
        let work = WorkItem(name: "work_for_cpu_fn") {}
        try enterFrame(.work(work.name), task: worker, disableIrqs: false,
                       entryFrames: ["work_for_cpu_fn", "process_one_work", "worker_thread", "kthread",
                                     "ret_from_fork", "ret_from_fork_asm"],
                       onIrqStack: false, endsStack: true, cpu: cpu)
        let savedWork = cs.runningWork
        let savedPreempt = cs.preemptCount
        cs.preemptCount = 0
        cs.runningWork = work
        defer { cs.runningWork = savedWork }
        let result: T
        do {
            result = try function()
        } catch {
            abandonFrame()
            throw error
        }
        if cs.irqsDisabled { cs.irqsDisabled = false }
        exitFrame()
        if cs.cpu == cpu { cs.preemptCount = savedPreempt }
        return result
    }
}
