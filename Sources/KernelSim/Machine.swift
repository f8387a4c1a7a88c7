/// The simulated computer: physical memory and its allocators, the MMU, the
/// execution contexts, the devices, the clock and the kernel log.
///
/// Skeleton: the memory model fills this in (issue 3); the contexts work
/// (issue 4) owns `ExecutionState`.
public final class Machine {
    /// The kernel log (`dmesg`) and every report raised so far.
    public let log = KernelLog()
    /// Who is running: task, hardirq, softirq, kworker; locks; irqs; devices.
    public let contexts = ExecutionState()
    /// Supplied by the Lua glue: the current Lua call stack as `Call Trace:`
    /// lines (innermost first). KernelSim never knows where they come from.
    public var callTraceProvider: (() -> [String])?

    public init() {}
}
