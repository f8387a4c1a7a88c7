/// Execution contexts (task, hardirq, softirq, kworker), preempt count,
/// interrupt state and locks. Skeleton: issue 4 fills this in.
public final class ExecutionState {
    public init() {}
}
