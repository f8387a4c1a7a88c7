/// Execution contexts (task, hardirq, softirq, kworker), preempt count,
/// interrupt state, locks, the irq table, deferred work and the syscall table
/// of the simulated single CPU (CPU#0).
///
/// The CPU state is what the kernel keeps per CPU: `current`, the
/// preempt_count (bit layout of include/linux/preempt.h, see `Preempt`) and
/// the interrupt flag. Entering a hardirq, a softirq, a kworker or a syscall
/// pushes a frame; leaving it pops the frame. Operations that need the log or
/// the clock are `Machine` extensions (Locks.swift, Sleep.swift,
/// Interrupts.swift, Deferred.swift, Syscalls.swift).
public final class ExecutionState {
    // MARK: Configuration (set before use; `boot{}` makes a fresh machine)

    /// `init_utsname()->release` as reports print it ("6.12.0 #1").
    public var kernelRelease = "6.12.0"
    /// A 2.6.18 kernel: its six-flag taint string and plain module list.
    public var legacyKernel = false
    /// The version's build number, `#1`.
    public var kernelBuild = "#1"
    /// `dump_stack_arch_desc`, the `Hardware name:` line of every stack dump.
    public var hardwareName = "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014"
    /// 32 (x86_32) or 64 (x86_64): how wide `%px` prints addresses.
    public var pointerBits = 32
    /// CONFIG_HZ: x86 defconfig is 250, so a jiffy is 4 ms.
    public var hz: UInt64 = 250
    /// Limits against unbounded recursion through irqs, softirqs and work.
    public var maxContextDepth = 16
    /// Rounds of softirq processing per irq exit (MAX_SOFTIRQ_RESTART in
    /// kernel/softirq.c) before the rest is left to ksoftirqd.
    public var maxSoftirqRestart = 10
    /// Upper bound of work items queued *during* a flush or drain that it
    /// still runs (a work item that keeps requeueing itself would otherwise
    /// never let a flush finish). What was queued before always runs.
    public var maxWorkItemsPerFlush = 1000

    // MARK: Tasks

    /// The idle task of CPU#0 (pid 0).
    public let idleTask = Task(pid: 0, comm: "swapper/0", kind: .idle)
    /// The task a script runs as: a module being loaded by `insmod`.
    public let scriptTask = Task(pid: 412, comm: "insmod", kind: .user)
    /// The user program that makes syscalls (`user.syscall`): "a.out", run
    /// by an ordinary user (uid 1000). Rename it with `setUserProgram(_:)`.
    public let userTask = Task(pid: 413, comm: "a.out", kind: .user, uid: 1000)
    /// The worker of the system workqueue on CPU#0.
    public let kworker = Task(pid: 27, comm: "kworker/0:1", kind: .kernelThread)
    /// The softirq daemon of CPU#0.
    public let ksoftirqd = Task(pid: 14, comm: "ksoftirqd/0", kind: .kernelThread)

    /// `current`: the task whose stack the CPU runs on (an interrupt borrows
    /// the task it interrupted).
    public internal(set) var current: Task

    // MARK: CPU state

    /// `preempt_count()` without the PREEMPT_NEED_RESCHED bit.
    public internal(set) var preemptCount: UInt32 = 0
    /// `irqs_disabled()`: the interrupt flag of CPU#0 is clear.
    public internal(set) var irqsDisabled = false
    /// `smp_processor_id()`: the CPU the running code is on. Process context
    /// runs on CPU 0; `work_on_cpu` and `smp_call_function_single` move to
    /// another CPU for the length of their frame (Cpus.swift).
    public internal(set) var cpu = 0
    /// The online CPUs' own tasks and interrupt counters (`boot{cpus=N}`).
    var cpus: [CpuState] = []
    /// Entered contexts, outermost first.
    var frames: [ContextFrame] = []

    // MARK: Locks and the debug kernel's state

    /// `debug_locks`: lockdep (and the spinlock/mutex debug checks) report
    /// the first problem and then turn themselves off (debug_locks_off()).
    public internal(set) var debugLocks = true
    var lockClasses: [String: LockClass] = [:]
    var lockNameVersions: [String: Int] = [:]
    var nextLockAddress: UInt64 = 0
    var nextAnonymousClass = 0
    /// Taint flags (kernel/panic.c), printed as `Not tainted` / `Tainted: G        W`.
    public internal(set) var taints: Set<TaintFlag> = []
    /// `prev_jiffy` of __might_resched: the last time the splat printed.
    var lastMightReschedNanoseconds: UInt64?
    /// How many sleeping-in-atomic splats the rate limit swallowed.
    public internal(set) var suppressedSleepReports = 0
    /// WARN_ONCE sites that have fired.
    var warnedOnce: Set<String> = []
    /// Set once the kernel has panicked (an Oops in interrupt context).
    public internal(set) var panicMessage: String?
    /// Remaining `report_bad_irq` messages (it prints 100, then stays quiet).
    var badIrqReportsLeft = 100

    // MARK: Interrupts

    /// Interrupt lines 0 ..< nrIrqs have a descriptor (request_irq beyond: -EINVAL).
    public var nrIrqs = 256
    var irqDescs: [Int: IrqDesc] = [:]
    /// Lines asserted while the CPU had interrupts off, in arrival order.
    var pendingIrqs: [Int] = []
    /// Interrupts raised on lines nobody requested.
    public internal(set) var spuriousInterrupts = 0
    /// Context depths at which a `deliverPendingIrqs` loop is running
    /// (outermost first): a delivery's exit path at such a depth leaves the
    /// next pending line to that loop instead of recursing.
    var irqDeliveryDepths: [Int] = []
    /// Lines delivered in the current storm (see IrqStorm.swift).
    var stormingLines: [Int] = []
    /// Deliveries of one line in a row, without the interrupted task
    /// running, after which the watchdog reports a lockup (IrqStorm.swift).
    public var irqStormLimit = 250_000

    // MARK: Deferred work

    /// TASKLET_SOFTIRQ is raised: tasklets wait to run.
    var taskletQueue: [Tasklet] = []
    /// The system workqueue (`system_wq`), in queueing order.
    var workQueue: [WorkItem] = []
    /// Work item being run by the kworker, if any.
    var runningWork: WorkItem?
    /// lockdep maps of the workqueue code: `(wq_completion)events` and one
    /// `(work_completion)(&NAME)` per work function.
    var wqMap: KernelLock?
    var workMaps: [String: KernelLock] = [:]

    // MARK: Syscalls

    var syscalls: [String: Syscall] = [:]
    var nextSyscallNumber = 0

    // MARK: User space and devices

    /// The user program's address space (made on first use, see UserSpace.swift).
    var userMM: UserAddressSpace?
    /// PCI devices, in probe order (see Devices/PciDevice.swift).
    var pciDevices: [PciDevice] = []
    /// dma-debug's `show_num_errors`: only the first DMA-API error is shown.
    var dmaDebugErrorsLeft = 1
    /// dma-debug's `error_count`.
    public internal(set) var dmaDebugErrorCount = 0

    public init() {
        current = scriptTask
        installLegacyInterrupts()
    }

    // MARK: What the memory model reads (keep these names)

    /// The running task's name, as `current->comm` (a script runs as `insmod`).
    public var currentComm: String { current.comm }
    /// The running task's pid.
    public var currentPid: Int { current.pid }
    /// Where we are: "process", "hardirq", "softirq" or "kworker".
    public var contextName: String { context.rawValue }
    /// False in hardirq/softirq context, under a spinlock or with irqs off:
    /// exactly when `__might_resched` would complain.
    public var canSleep: Bool { preemptCount == 0 && !irqsDisabled }

    /// The kind of context the CPU is in.
    public var context: ContextKind {
        if Preempt.inHardirq(preemptCount) { return .hardirq }
        if Preempt.inServingSoftirq(preemptCount) { return .softirq }
        if current.isWorker { return .kworker }
        return .process
    }

    // MARK: The predicates of include/linux/preempt.h and irqflags.h

    public var inInterrupt: Bool { Preempt.inInterrupt(preemptCount) }
    public var inIrq: Bool { Preempt.inHardirq(preemptCount) }
    public var inHardirq: Bool { Preempt.inHardirq(preemptCount) }
    public var inSoftirq: Bool { Preempt.inSoftirq(preemptCount) }
    public var inServingSoftirq: Bool { Preempt.inServingSoftirq(preemptCount) }
    public var inTask: Bool { Preempt.inTask(preemptCount) }
    public var inAtomic: Bool { Preempt.inAtomic(preemptCount) }
    public var inNMI: Bool { Preempt.inNMI(preemptCount) }

    /// How deeply contexts are nested (0: the script's own task context).
    public var depth: Int { frames.count }
    /// The names of the entered contexts, outermost first (for tests and views).
    public var contextStack: [String] { frames.map { $0.kind.description } }

    /// Locks the current task holds, in acquisition order (lockdep's held_locks).
    public var heldLocks: [HeldLock] { current.heldLocks }

    /// The flags value `local_irq_save` would return now.
    public var currentFlags: UInt64 { irqsDisabled ? IrqFlags.disabledValue : IrqFlags.enabledValue }

    /// `%px`: zero-padded lower-case hex, as wide as a pointer.
    public func px(_ address: UInt64) -> String {
        let digits = pointerBits == 64 ? 16 : 8
        let value = pointerBits == 64 ? address : address & 0xffff_ffff
        let hex = String(value, radix: 16)
        return hex.count >= digits ? hex : String(repeating: "0", count: digits - hex.count) + hex
    }
}

/// A task (`struct task_struct`), as far as the simulation needs one.
public final class Task {
    public enum Kind: Sendable {
        case idle, user, kernelThread
    }
    public let pid: Int
    /// `comm`: at most 15 characters (TASK_COMM_LEN 16).
    public internal(set) var comm: String
    public let kind: Kind
    /// The effective uid (`UID:` of the stack dump's CPU line).
    public let uid: Int
    /// lockdep's `held_locks`, in acquisition order.
    public internal(set) var heldLocks: [HeldLock] = []
    /// A workqueue worker (`kworker/N:M`): its context is "kworker".
    let isWorker: Bool

    init(pid: Int, comm: String, kind: Kind, uid: Int = 0) {
        self.pid = pid
        self.comm = String(comm.prefix(15))
        self.kind = kind
        self.uid = uid
        isWorker = kind == .kernelThread && comm.hasPrefix("kworker/")
    }
}

/// Values of `ExecutionState.contextName`.
public enum ContextKind: String, Sendable {
    case process, hardirq, softirq, kworker
}

/// One entered context.
struct ContextFrame {
    enum Kind: CustomStringConvertible {
        case hardirq(Int)
        case softirq
        case work(String)
        case syscall(String)
        /// A function-call IPI's handler on another CPU (smp_call_function_single).
        case ipi(Int)

        var description: String {
            switch self {
            case .hardirq(let irq): return "hardirq \(irq)"
            case .ipi(let cpu): return "IPI on CPU \(cpu)"
            case .softirq: return "softirq"
            case .work(let name): return "kworker \(name)"
            case .syscall(let name): return "syscall \(name)"
            }
        }
    }
    var kind: Kind
    /// `current` before the frame was entered.
    var savedTask: Task
    /// The interrupt flag before the frame was entered (restored on exit, as
    /// `iret` restores EFLAGS).
    var savedIrqsDisabled: Bool
    /// The preempt count before entry (exit subtracts only what entry added,
    /// so a lock leaked inside the frame stays visible, as in the kernel).
    var savedPreemptCount: UInt32
    /// How many Call Trace lines existed when the frame was entered: the
    /// lines above belong to this frame.
    var traceDepth: Int
    /// Kernel functions between this frame's own lines and what it
    /// interrupted or was called from (`handle_irq_event`, `process_one_work`...).
    var entryFrames: [String]
    /// Whether the frame runs on the irq stack (`<IRQ>` ... `</IRQ>`).
    var onIrqStack: Bool
    /// Whether the stack ends below this frame: a kworker or ksoftirqd has a
    /// stack of its own, and below a syscall entry is user space.
    var endsStack: Bool
    /// Printed first in the interrupted context's part (`asm_common_interrupt`).
    var resumeFrames: [String] = []
    /// The CPU the code that entered the frame ran on (restored on exit).
    var savedCPU = 0
}

/// A problem with how the simulation itself was driven (not a kernel report):
/// a syscall from interrupt context, a bad irq number given to the hardware,
/// too deep a nesting. The glue turns it into an error naming the function.
public struct ContextError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
