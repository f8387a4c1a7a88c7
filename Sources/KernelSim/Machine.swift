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
    /// Simulated time since boot, in nanoseconds (`ktime_get_ns`).
    public internal(set) var clockNanoseconds: UInt64 = 0

    public init() {}

    /// Logs a report, stamped with the simulated time. An `.oops` report is
    /// also thrown as `KernelOops` by the caller, which ends the running task.
    public func raise(_ report: KernelReport) {
        log.record(report, timeNanoseconds: clockNanoseconds)
    }

    /// The Lua call stack as Call Trace lines, or nothing outside Lua.
    public func callTrace() -> [String] { callTraceProvider?() ?? [] }
}
