import KernelSim
import LuaBridge

/// The end of a script, as the kernel sees the end of a module's init:
/// what the CLI (and graders) call once the script's top level has run.
extension KernelEnvironment {
    /// The script's top level returned: the debug kernel's checks of
    /// `do_one_initcall` (a preempt count or interrupt flag left behind),
    /// lockdep's "lock held when returning to user space", then everything
    /// still deferred runs (tasklets in ksoftirqd, work in the kworker).
    /// Throws what a deferred function threw: a `LuaFailure` for a Lua
    /// error (its message names the tasklet or work), `KernelOops` for a
    /// kernel report that ended it (the task has then died, see `scriptDied`).
    public func finishScript() throws {
        do {
            try machine.finishScript()
        } catch let oops as KernelOops {
            machine.exitCurrentTask()
            throw oops
        }
    }

    /// An Oops (or a Lua error) ended the script while it was inside
    /// interrupt handlers, syscalls or under locks: the task dies as
    /// `make_task_dead` has it (kernel/exit.c), and lockdep reports the
    /// locks it still held. The CPU is back in plain process context.
    public func scriptDied() {
        machine.exitCurrentTask()
    }
}
