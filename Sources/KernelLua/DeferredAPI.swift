import KernelSim
import LuaBridge

/// Tasklets and the system workqueue: glue to KernelSim/Contexts/Deferred.swift.
/// The deferred function is called with no arguments.
enum DeferredAPI {
    static let topic = ContextAPI.topic

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        env.define("tasklet_schedule", doc: APIDoc(topic: topic, signature: "tasklet_schedule(fn) -> boolean",
            summary: "Schedules fn() to run as a tasklet, in softirq context (in_softirq() true, interrupts on, no sleeping): on the way out of the interrupt handler that scheduled it, or, from process context, when the task next sleeps or the script ends (ksoftirqd). Returns false if fn was already scheduled and has not run yet (it runs once).",
            context: "any context", kernel: "include/linux/interrupt.h tasklet_schedule(), kernel/softirq.c")) { call in
            try call.checkFunction(1, "fn")
            call.push(env.machine.taskletSchedule(glue.tasklet(call, 1)))
            return 1
        }
        env.define("schedule_work", doc: APIDoc(topic: topic, signature: "schedule_work(fn) -> boolean",
            summary: "Queues fn() on the system workqueue: it runs later in process context in kworker/0:1 (current.comm), where sleeping is allowed (GFP_KERNEL, mutex_lock, msleep): the way to finish in process context what an interrupt handler started. Work runs in queueing order on flush_scheduled_work(), whenever the running task sleeps, and when the script ends. Returns false if fn is already queued.",
            context: "any context", kernel: "include/linux/workqueue.h schedule_work(), kernel/workqueue.c")) { call in
            try call.checkFunction(1, "fn")
            call.push(env.machine.scheduleWork(glue.work(call, 1)))
            return 1
        }
        env.define("flush_scheduled_work", doc: APIDoc(topic: topic, signature: "flush_scheduled_work()",
            summary: "Waits until every work item queued on the system workqueue has run (they run now, in the kworker). It sleeps; calling it from a work item waits for itself: lockdep's report, then a hung task.",
            context: "process context only", kernel: "kernel/workqueue.c __flush_workqueue()")) { _ in
            try env.machine.flushScheduledWork()
            return 0
        }
    }
}
