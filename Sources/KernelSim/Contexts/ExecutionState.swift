/// Execution contexts (task, hardirq, softirq, kworker), preempt count,
/// interrupt state and locks. Skeleton: issue 4 fills this in.
public final class ExecutionState {
    public init() {}

    /// The running task's name, as `current->comm` (a script runs as `insmod`).
    public var currentComm: String { "insmod" }
    /// The running task's pid.
    public var currentPid: Int { 1 }
    /// Where we are: "process", "hardirq", "softirq" or "kworker".
    public var contextName: String { "process" }
    /// False in hardirq/softirq context, under a spinlock or with irqs off.
    public var canSleep: Bool { true }
}

extension Machine {
    /// `might_sleep()`: called before anything that may sleep (a sleeping
    /// allocation, vmalloc, msleep, mutex_lock, copy_*_user). Logs the
    /// "BUG: sleeping function called from invalid context at FILE:LINE"
    /// warning when the current context cannot sleep; execution continues.
    /// Skeleton: issue 4 implements the report.
    public func mightSleep(file: String, line: Int) {}
}
