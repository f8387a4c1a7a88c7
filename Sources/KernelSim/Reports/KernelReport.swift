/// A report the simulated debug kernel prints when code gets memory management
/// wrong: the text a real kernel would print, plus the same facts as fields so
/// that lessons and graders never have to parse text.
///
/// Severity decides what happens next, as in the kernel: a `.warning` (WARN,
/// KASAN, the sleeping-in-atomic splat, allocation failure) is logged and
/// execution continues; an `.oops` (BUG(), a fatal page fault) is logged and
/// ends the running task, which the simulator signals by throwing `KernelOops`.
public struct KernelReport: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case sleepingInAtomic = "sleeping-in-atomic"
        case allocationFailure = "allocation-failure"
        case unexpectedGfp = "unexpected-gfp"
        case slabOutOfBounds = "slab-out-of-bounds"
        case vmallocOutOfBounds = "vmalloc-out-of-bounds"
        case useAfterFree = "use-after-free"
        case doubleFree = "double-free"
        case invalidFree = "invalid-free"
        case nullPointerDereference = "null-pointer-dereference"
        case pageFault = "page-fault"
        case generalProtectionFault = "general-protection-fault"
        case debugVirtual = "debug-virtual"
        case dmaAPI = "dma-api"
        case dmaCorruption = "dma-corruption"
        /// An IOMMU blocked a device's request (drivers/iommu/intel/dmar.c).
        case dmarFault = "dmar-fault"
        case memoryLeak = "memory-leak"
        case lockRecursion = "lock-recursion"
        case badUnlock = "bad-unlock"
        // Contexts, locks, interrupts (issue 4):
        case inconsistentLockState = "inconsistent-lock-state"
        case schedulingWhileAtomic = "scheduling-while-atomic"
        case lockup = "lockup"
        case hungTask = "hung-task"
        case lockHeldReturningToUser = "lock-held-returning-to-user"
        case locksHeldAtExit = "locks-held-at-exit"
        case workqueueLeak = "workqueue-leak"
        case badIrqReturn = "bad-irq-return"
        /// The OOM killer's report (mm/oom_kill.c): a warning when it
        /// killed a task, an oops when nothing could be killed (the panic).
        case oomKill = "oom-kill"
        case warning = "warning"
        case bug = "bug"
    }

    public enum Severity: String, Sendable {
        case warning
        case oops
    }

    public var kind: Kind
    public var severity: Severity
    /// The first line, e.g. `BUG: KASAN: use-after-free in kfree+0x1c/0x40`.
    public var headline: String
    /// The whole report, headline included, one entry per printed line.
    public var lines: [String]
    /// The faulting or offending address, when there is one.
    public var address: UInt64?
    /// The access or allocation size, when there is one.
    public var size: Int?
    /// The slab cache involved (`kmalloc-128`), when there is one.
    public var cache: String?
    /// The execution context the report was raised in (`process`, `hardirq`, `softirq`, ...).
    public var context: String?
    /// Any further facts, by name (`order`, `gfp`, `victims`, ...).
    public var fields: [String: String]

    public init(kind: Kind, severity: Severity, lines: [String], address: UInt64? = nil,
                size: Int? = nil, cache: String? = nil, context: String? = nil,
                fields: [String: String] = [:]) {
        self.kind = kind
        self.severity = severity
        // The first line that says something: not KASAN's "=====" rule nor
        // WARN's "[ cut here ]" marker ("BUG: KASAN: ...", "kernel BUG at ...").
        self.headline = lines.first { !$0.hasPrefix("=====") && !$0.hasPrefix("------------[ cut here ]") }
            ?? lines.first ?? kind.rawValue
        self.lines = lines
        self.address = address
        self.size = size
        self.cache = cache
        self.context = context
        self.fields = fields
    }

    /// The report as the kernel log shows it (without timestamps).
    public var text: String { lines.joined(separator: "\n") }
}

/// Thrown by simulator operations whose report ends the running task
/// (BUG(), Oops). The report has already been logged when this is thrown.
public struct KernelOops: Error, Sendable {
    public var report: KernelReport
    public init(report: KernelReport) { self.report = report }
}
