/// Syscalls: a table of handlers (`SYSCALL_DEFINE`) and the trap from the
/// user program into the kernel. The trap is not an interrupt: the handler
/// runs in process context of the calling task (`current` is the user
/// program, GFP_KERNEL is fine), and on the way back the entry code checks
/// what a debug kernel checks (kernel/entry/common.c, lockdep_sys_exit).

/// A handler: the six register arguments in, the return value out
/// (negative values are -errno). The glue wraps a Lua function.
public typealias SyscallHandler = ([Int64]) throws -> Int64

/// One entry of the syscall table.
public struct Syscall {
    public let name: String
    /// Its number: new syscalls are numbered after the last one of 6.12's
    /// x86 tables (462, mseal, added in 6.10).
    public let number: Int
    let handler: SyscallHandler
}

extension Machine {
    /// `SYSCALL_DEFINE(name, fn)`: adds (or replaces) a syscall; returns its number.
    @discardableResult
    public func syscallDefine(_ name: String, _ handler: @escaping SyscallHandler) -> Int {
        let cs = contexts
        if let old = cs.syscalls[name] {
            cs.syscalls[name] = Syscall(name: name, number: old.number, handler: handler)
            return old.number
        }
        let number = 463 + cs.nextSyscallNumber
        cs.nextSyscallNumber += 1
        cs.syscalls[name] = Syscall(name: name, number: number, handler: handler)
        return number
    }

    /// The defined syscalls, by name.
    public var syscallNames: [String] { contexts.syscalls.keys.sorted() }

    /// Names the user program (`current->comm` during its syscalls), e.g. "a.out".
    public func setUserProgram(_ comm: String) {
        contexts.userTask.comm = String(comm.prefix(15))
    }

    /// `user.syscall(name, ...)`: the user program traps into the kernel.
    /// Unknown names return -ENOSYS (sys_ni_syscall). The trap can only come
    /// from user mode: from inside the kernel (an interrupt, a work item,
    /// another syscall) or while the CPU is held atomic it is a
    /// `ContextError`. On return: a WARN if the handler left interrupts off,
    /// lockdep's "lock held when returning to user space!".
    public func syscall(_ name: String, _ args: [Int64]) throws -> Int64 {
        try syscall(name, args, as: nil)
    }

    /// `syscall` made by a user process (nil: a.out). A process the OOM
    /// killer killed cannot trap any more; one killed during its own syscall
    /// dies on the way back to user mode, as a SIGKILL takes effect there.
    public func syscall(_ name: String, _ args: [Int64], as process: UserProcess?) throws -> Int64 {
        let cs = contexts
        let proc = try liveProcess(process)
        let task = proc.task
        if let top = cs.frames.last {
            throw ContextError("cannot trap into the kernel from inside the kernel (\(top.kind) context); a syscall comes from the user program, in user mode")
        }
        if cs.inAtomic || cs.irqsDisabled {
            throw ContextError("the CPU is atomic (preempt_count \(String(cs.preemptCount, radix: 16)), irqs_disabled \(cs.irqsDisabled ? 1 : 0)) in \(cs.currentComm): the user program cannot run until that ends")
        }
        guard let sc = cs.syscalls[name] else { return Int64(Errno.ENOSYS.negated) }
        let entry: [String]
        if cs.pointerBits == 64 {
            entry = ["__do_sys_\(name)", "__x64_sys_\(name)", "x64_sys_call", "do_syscall_64",
                     "entry_SYSCALL_64_after_hwframe"]
        } else {
            entry = ["__do_sys_\(name)", "__ia32_sys_\(name)", "ia32_sys_call", "__do_fast_syscall_32",
                     "do_fast_syscall_32", "do_SYSENTER_32", "entry_SYSENTER_32"]
        }
        try enterFrame(.syscall(name), task: task, disableIrqs: false, entryFrames: entry,
                       onIrqStack: false, endsStack: true)
        let result: Int64
        do {
            var regs = Array(args.prefix(6))
            while regs.count < 6 { regs.append(0) }
            result = try sc.handler(regs)
        } catch {
            if error is KernelOops { noteTaskDeath(task) }
            abandonFrame()
            throw error
        }
        // syscall_exit_to_user_mode_prepare()
        if cs.irqsDisabled {
            raise(warnReport(message: "syscall \(sc.number) left IRQs disabled",
                             file: "kernel/entry/common.c", line: 190, function: "syscall_exit_to_user_mode_prepare",
                             fields: ["syscall": name]))
            cs.irqsDisabled = false
        }
        lockdepSysExit(task, syscall: name)
        exitFrame()
        try deliverPendingIrqs()
        if proc.oomKilled { throw proc.killedError }
        return result
    }

    /// `lockdep_sys_exit()` (kernel/locking/lockdep.c): a task returning to
    /// user space with locks held.
    func lockdepSysExit(_ task: Task, syscall name: String) {
        let cs = contexts
        guard !task.heldLocks.isEmpty, cs.debugLocksOff() else { return }
        let title = "WARNING: lock held when returning to user space!"
        var lines = ["", String(repeating: "=", count: title.count), title, cs.kernelIdent,
                     String(repeating: "-", count: title.count),
                     "\(task.comm)/\(task.pid) is leaving the kernel with locks still held!"]
        lines += cs.heldLocksLines(task)
        var r = KernelReport(kind: .lockHeldReturningToUser, severity: .warning, lines: lines,
                             context: cs.contextName,
                             fields: contextFields(["syscall": name, "locks_held": String(task.heldLocks.count)]))
        r.headline = title
        raise(r)
    }

    /// The script's top level returned: it is a module's init function run
    /// by insmod's `finit_module` syscall. `do_one_initcall` (init/main.c)
    /// warns about a preempt count or interrupt flag it did not restore, and
    /// puts them right; insmod then returns to user space (lockdep's check of
    /// held locks); then the machine runs what was deferred. Throws what a
    /// deferred function throws.
    public func finishScript(initcall: String = "init_module") throws {
        let cs = contexts
        while !cs.frames.isEmpty { abandonFrame() }
        var msg = ""
        if cs.preemptCount != 0 {
            msg += "preemption imbalance "
            cs.preemptCount = 0
        }
        if cs.irqsDisabled {
            msg += "disabled interrupts "
            cs.irqsDisabled = false
        }
        if !msg.isEmpty {
            raise(warnReport(message: "initcall \(initcall) returned with \(msg)", file: "init/main.c", line: 1230,
                             function: "do_one_initcall", fields: ["initcall": initcall]))
        }
        try deliverPendingIrqs()
        lockdepSysExit(cs.scriptTask, syscall: "finit_module")
        try runPendingWork()
    }

    /// `make_task_dead()` notes for a task an Oops kills (kernel/exit.c).
    func noteTaskDeath(_ t: Task) {
        let cs = contexts
        if cs.irqsDisabled { printk("note: \(t.comm)[\(t.pid)] exited with irqs disabled") }
        if cs.preemptCount & Preempt.preemptMask != 0 {
            printk("note: \(t.comm)[\(t.pid)] exited with preempt_count \(cs.preemptCount & Preempt.preemptMask)")
            cs.preemptCount &= ~Preempt.preemptMask
        }
    }
}
