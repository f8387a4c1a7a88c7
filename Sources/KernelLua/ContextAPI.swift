import KernelSim
import LuaBridge

/// Contexts, locks, interrupts, deferred work, syscalls, user space and DMA
/// devices (issue 4): glue from Lua to KernelSim/Contexts, User and Devices.
/// Semantics: ../shared/DESIGN.md. This file installs the context
/// predicates, sleeping, `current` and the errno constants; the other areas
/// live in LockAPI, IrqAPI, DeferredAPI, SyscallAPI, UserAPI and DeviceAPI.
enum ContextAPI {
    static func install(into env: KernelEnvironment) {
        let glue = ContextGlue(env: env)
        installPredicates(into: env)
        installSleeping(into: env)
        installCurrent(into: env)
        installErrno(into: env)
        LockAPI.install(into: env, glue: glue)
        IrqAPI.install(into: env, glue: glue)
        DeferredAPI.install(into: env, glue: glue)
        SyscallAPI.install(into: env, glue: glue)
        UserAPI.install(into: env, glue: glue)
        DeviceAPI.install(into: env, glue: glue)
        SlabCacheAPI.install(into: env, glue: glue)
        MempoolAPI.install(into: env, glue: glue)
        PagemapAPI.install(into: env)
        SmpAPI.install(into: env, glue: glue)
    }

    static let topic = "Contexts, locks, deferred work"

    /// A global function in the `user` table (or another table), documented
    /// as `table.name`, whose kernel reports become Lua errors like any
    /// `define`d function's.
    static func defineField(_ env: KernelEnvironment, table: String, _ name: String, doc: APIDoc,
                            _ body: @escaping LuaFunction) {
        env.document("\(table).\(name)", doc)
        env.lua.register(table: table, [(name, { [unowned env] call in
            try env.guardKernel(call) { try body(call) }
        })])
    }

    // MARK: predicates

    static func installPredicates(into env: KernelEnvironment) {
        let predicates: [(String, String, String, (ExecutionState) -> Bool)] = [
            ("in_interrupt", "True in any interrupt context: hardirq, softirq (including code that disabled bottom halves) or NMI. Not true under a spinlock alone: use in_atomic for that.", "include/linux/preempt.h in_interrupt()", { $0.inInterrupt }),
            ("in_irq", "True in a hardirq handler (the old name of in_hardirq).", "include/linux/preempt.h in_irq()", { $0.inIrq }),
            ("in_hardirq", "True while a hardware interrupt handler runs (raise_irq, dev:raise_irq).", "include/linux/preempt.h in_hardirq()", { $0.inHardirq }),
            ("in_softirq", "True while a softirq (a tasklet) runs, or while bottom halves are disabled (spin_lock_bh, local_bh_disable).", "include/linux/preempt.h in_softirq()", { $0.inSoftirq }),
            ("in_task", "True in process context: the script's own task (insmod), a syscall of the user program, or a kworker running work. Sleeping is allowed there unless a spinlock is held or interrupts are off.", "include/linux/preempt.h in_task()", { $0.inTask }),
            ("in_atomic", "True when the preempt count is non-zero: in an interrupt, in a softirq, or under a spinlock. Code that may sleep must not run then.", "include/linux/preempt.h in_atomic()", { $0.inAtomic }),
            ("irqs_disabled", "True when interrupts are off on this CPU: in a hardirq handler, after local_irq_disable, under spin_lock_irqsave.", "include/linux/irqflags.h irqs_disabled()", { $0.irqsDisabled }),
        ]
        for (name, summary, kernel, f) in predicates {
            env.define(name, doc: APIDoc(topic: topic, signature: "\(name)() -> boolean", summary: summary,
                                         kernel: kernel)) { call in
                call.push(f(env.machine.contexts))
                return 1
            }
        }
    }

    // MARK: sleeping

    static func installSleeping(into env: KernelEnvironment) {
        env.define("might_sleep", doc: APIDoc(topic: topic, signature: "might_sleep()",
            summary: "Annotates code that may sleep: in atomic context (an interrupt handler, under a spinlock, with interrupts off) the debug kernel prints \"BUG: sleeping function called from invalid context at FILE:LINE\" naming the Lua line that called it, and carries on (the report is rate-limited to one per second of simulated time, as in the kernel).",
            context: "any context (that is the point: it checks)", kernel: "include/linux/kernel.h might_sleep(), kernel/sched/core.c __might_resched()")) { call in
            let caller = call.callerPosition(level: 1)
            env.machine.mightSleep(file: caller?.source ?? "?", line: caller?.line ?? 0)
            return 0
        }
        env.define("msleep", doc: APIDoc(topic: topic, signature: "msleep(ms)",
            summary: "Sleeps at least ms milliseconds of simulated time, rounded up to whole jiffies (HZ=250: 4 ms each). While the task sleeps, pending tasklets (ksoftirqd) and work items (the kworker) run. In atomic context the scheduler reports \"BUG: scheduling while atomic\".",
            context: "process context only", kernel: "kernel/time/sleep_timeout.c msleep()")) { call in
            let ms = try call.integer(1, "ms", expected: "a number of milliseconds (a non-negative integer)")
            guard ms >= 0, ms <= 86_400_000 else {
                throw call.argumentError(1, "ms", "a number of milliseconds between 0 and 86400000")
            }
            try env.machine.msleep(Int(ms))
            return 0
        }
        env.define("schedule", doc: APIDoc(topic: topic, signature: "schedule()",
            summary: "Gives up the CPU: other work (tasklets in ksoftirqd, work items in the kworker) runs, then the task continues. In atomic context: \"BUG: scheduling while atomic\".",
            context: "process context only", kernel: "kernel/sched/core.c schedule()")) { _ in
            try env.machine.schedule()
            return 0
        }
    }

    // MARK: current

    static func installCurrent(into env: KernelEnvironment) {
        env.document("current", APIDoc(topic: topic, signature: "current.pid, current.comm",
            summary: "The task the CPU is running for, read live: the script runs as insmod (loading a module); inside user.syscall it is the user program (a.out); in a kworker it is kworker/0:1; an interrupt handler borrows whatever task it interrupted. Also current.context (\"process\", \"hardirq\", \"softirq\" or \"kworker\") and current.preempt_count.",
            kernel: "arch/x86/include/asm/current.h current"))
        // A table with no fields of its own: every read goes to __index, so
        // the values are always the machine's now. (No __name: Lua's own
        // messages call it a table, as they always did.)
        let task = LuaObjectType(key: "kmlab.current")
        env.lua.declare(task, typeName: "struct task_struct", namedInErrors: false) { meta in
            meta.define("__index", named: "current") { call in
                let cs = env.machine.contexts
                guard call.kind(2) == .string, let key = try? call.string(2, "field") else {
                    call.pushNil()
                    return 1
                }
                switch key {
                case "pid": call.push(cs.currentPid)
                case "comm": call.push(cs.currentComm)
                case "context": call.push(cs.contextName)
                case "preempt_count": call.push(Int64(cs.preemptCount))
                default: call.pushNil()
                }
                return 1
            }
            meta.define("__newindex", named: "current") { call in
                throw call.error("current is read-only (the kernel's task_struct, not a Lua table)")
            }
            meta.define("__tostring", named: "tostring") { call in
                let cs = env.machine.contexts
                call.push("task{pid=\(cs.currentPid), comm=\(cs.currentComm), context=\(cs.contextName)}")
                return 1
            }
        }
        env.lua.setGlobal("current") { $0.pushNewTable(of: task) }
    }

    // MARK: errno

    static func installErrno(into env: KernelEnvironment) {
        for (name, value, doc) in errnoConstants { env.constant(name, value, doc: doc) }
    }

    /// The errno constants with their docs, written once per process
    /// (every grading state installs all of them).
    static let errnoConstants: [(String, Int64, APIDoc)] = errnoNames.map { name, value in
        (name, value, APIDoc(topic: "Syscalls and user space", signature: "\(name) = \(value)",
                             summary: "An error number (include/uapi/asm-generic/errno*.h). Kernel functions return it negated: return -\(name).",
                             kernel: "include/uapi/asm-generic/errno-base.h"))
    }

    static let errnoNames: [(String, Int64)] = Errno.allCases.map { ("\($0)", Int64($0.rawValue)) }
}
