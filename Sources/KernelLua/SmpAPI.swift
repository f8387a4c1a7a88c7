import KernelSim
import LuaBridge

/// SMP: which CPU code runs on, cross-CPU function calls, work on a given
/// CPU and the lazy vmap purge — glue to KernelSim/Contexts/Cpus.swift and
/// Memory/TlbShootdown.swift.
enum SmpAPI {
    static let topic = ContextAPI.topic

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        env.define("smp_processor_id", doc: APIDoc(topic: topic, signature: "smp_processor_id() -> integer",
            summary: "The number of the CPU running the caller: 0 for the script (process context runs on CPU 0), N inside work_on_cpu(N, fn) or a function smp_call_function_single(N, ...) runs. Called where the task could be preempted and moved to another CPU (preempt count 0, interrupts on, not a per-CPU kworker) the answer may be stale by the time it is used: the debug kernel prints \"BUG: using smp_processor_id() in preemptible [00000000] code: insmod/412\" with the caller and a stack dump (rate-limited, 10 per 5 s), and returns the number anyway. Disable preemption first (spin_lock, local_irq_disable), or use it where the CPU cannot change.",
            context: "any context; preemptible callers get the debug kernel's BUG report",
            kernel: "include/linux/smp.h smp_processor_id(), lib/smp_processor_id.c check_preemption_disabled()")) { call in
            call.push(Int64(env.machine.smpProcessorId()))
            return 1
        }
        env.define("num_online_cpus", doc: APIDoc(topic: topic, signature: "num_online_cpus() -> integer",
            summary: "How many CPUs are online: boot{cpus=N} (1 by default, up to 64). Each has its own TLB; with more than one, vfree defers its TLB flush and purges freed areas in batches (see vm_unmap_aliases and /proc/interrupts' CAL row).",
            kernel: "include/linux/cpumask.h num_online_cpus()")) { call in
            call.push(Int64(env.machine.numOnlineCPUs))
            return 1
        }
        env.define("smp_call_function_single", doc: APIDoc(topic: topic,
            signature: "smp_call_function_single(cpu, fn, info, wait) -> 0 | -ENXIO",
            summary: "Runs fn(info) on CPU cpu. On another CPU the kernel sends it a function-call IPI: fn runs there in hardirq context (in_irq() true, interrupts off, smp_processor_id() == cpu, current is that CPU's idle task swapper/N), so it must not sleep; the IPI counts in that CPU's CAL column of /proc/interrupts and in stats().ipis. On the calling CPU no IPI is sent: fn runs at once with interrupts and preemption off. wait: the kernel returns before fn has run when wait is false; kmlab runs one thing at a time, so fn has always finished when the call returns. Calling it with interrupts off, or from interrupt context, is the kernel's WARN_ON_ONCE (it could deadlock waiting for the other CPU).",
            context: "process context with interrupts on (a WARN otherwise); fn runs in hardirq context",
            failure: "-ENXIO when cpu is not an online CPU (fn does not run); an error inside fn ends the call with that error",
            kernel: "kernel/smp.c smp_call_function_single(), arch/x86/kernel/smp.c sysvec_call_function_single()")) { call in
            let cpuV = try call.integer(1, "cpu", expected: "a CPU number")
            try call.checkFunction(2, "fn")
            let wait = call.truthy(4)
            let fnRef = call.reference(2)
            let infoRef = call.reference(3)
            defer {
                env.lua.release(fnRef)
                env.lua.release(infoRef)
            }
            let what = "smp_call_function_single function \(glue.functionName(call, 2))"
            let gen = glue.generation
            let cpu = Int(clamping: cpuV)
            let result = try env.machine.smpCallFunctionSingle(cpu: cpu, wait: wait) {
                _ = try glue.invoke(fnRef, madeIn: gen, what: what, arguments: [.reference(infoRef)], results: 0)
            }
            call.push(Int64(result))
            return 1
        }
        env.define("work_on_cpu", doc: APIDoc(topic: topic, signature: "work_on_cpu(cpu, fn) -> fn's result",
            summary: "Runs fn() on CPU cpu in process context, in that CPU's kworker/N:1 (smp_processor_id() == cpu, sleeping allowed), waits for it and returns what fn returned. Memory fn touches goes through that CPU's own TLB, so later TLB flushes must reach it. The caller sleeps while it waits: not from atomic context.",
            context: "process context (the caller sleeps); fn runs in process context on cpu",
            failure: "an error naming cpu when it is not an online CPU; an error inside fn ends the call with that error",
            kernel: "kernel/workqueue.c work_on_cpu_key()")) { call in
            let cpuV = try call.integer(1, "cpu", expected: "a CPU number")
            try call.checkFunction(2, "fn")
            let machine = env.machine
            guard let cpu = Int(exactly: cpuV), cpu >= 0, cpu < machine.numOnlineCPUs else {
                throw call.argumentError(1, "cpu", "an online CPU (0..\(machine.numOnlineCPUs - 1))")
            }
            let fnRef = call.reference(2)
            defer { env.lua.release(fnRef) }
            let what = "work_on_cpu function \(glue.functionName(call, 2))"
            let gen = glue.generation
            var kept: LuaReference?
            defer { if let kept { env.lua.release(kept) } }
            try machine.workOnCPU(cpu) {
                _ = try glue.invoke(fnRef, madeIn: gen, what: what, arguments: [], results: 1) { kept = $0 }
            }
            if let kept { env.lua.push(kept, on: call.L) } else { call.pushNil() }
            return 1
        }
        env.define("vm_unmap_aliases", doc: APIDoc(topic: "Allocation", signature: "vm_unmap_aliases()",
            summary: "Purges the vmap areas vfree has freed lazily: one TLB flush over their whole span on every CPU (a function-call IPI to each other CPU), after which their address ranges can be handed out again. vfree does this by itself once more than lazy_max_pages() pages wait (32 MiB times fls(num_online_cpus()): 64 MiB with 2 CPUs, 128 MiB with 8) or when vmalloc runs out of address space. With one CPU vfree flushes at once and there is nothing to purge; so does era \"2.6\" (2.6.18 flushed every CPU at each vfree, with an IPI to each other CPU: the lazy purge came in 2.6.28).",
            context: "process context (it takes a mutex)",
            kernel: "mm/vmalloc.c vm_unmap_aliases(), __purge_vmap_area_lazy()")) { _ in
            env.machine.vmUnmapAliases()
            return 0
        }
    }
}
