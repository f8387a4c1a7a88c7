/// The simulated computer: physical memory and its allocators, the MMU, the
/// execution contexts, the devices, the clock and the kernel log.
///
/// Memory (issue 3) lives in Sources/KernelSim/Memory; the execution
/// contexts (issue 4) own `ExecutionState`. Everything is deterministic for
/// a configuration (seed included).
public final class Machine {
    /// The kernel log (`dmesg`) and every report raised so far.
    public let log = KernelLog()
    /// Who is running: task, hardirq, softirq, kworker; locks; irqs; devices.
    public let contexts = ExecutionState()
    /// Supplied by the Lua glue: the current Lua call stack as `Call Trace:`
    /// lines (innermost first). KernelSim never knows where they come from.
    /// It is called at every allocation and free (for kmemleak and KASAN's
    /// "Allocated by" / "Freed by" stacks), so it should be cheap.
    public var callTraceProvider: (() -> [String])?
    /// Supplied by the Lua glue too, when it can do better than
    /// `callTraceProvider`: the current stack's id in this machine's intern
    /// table (`internTrace`), so that the allocation path hands over a small
    /// integer it remembers instead of an array to be looked up.
    public var callTraceSource: CallTraceSource? {
        didSet { callTraceSourceRef = callTraceSource.map { Unmanaged.passUnretained($0) } }
    }
    /// `callTraceSource` for the allocation path: calling through it retains
    /// nothing (the property above keeps the source alive).
    private var callTraceSourceRef: Unmanaged<CallTraceSource>?
    /// Simulated time since boot, in nanoseconds (`ktime_get_ns`). The
    /// memory model advances it by the cycles it charges (see `Cost`).
    public internal(set) var clockNanoseconds: UInt64 = 0

    /// Set once `boot{}` has replaced this machine (`retire()`): nothing
    /// of it runs any more.
    public private(set) var isRetired = false

    /// How this machine was built.
    public let config: MachineConfig
    /// Its address-space layout and kernel constants.
    public let layout: KernelLayout
    /// Counters (`stats()`).
    public internal(set) var stats = MemoryStats()
    /// Taint flags set by warnings, KASAN reports and Oopses: one set for the
    /// whole machine, kept by `contexts` (whose reports print it too).
    public var taint: Set<TaintFlag> {
        contexts.taints
    }
    /// The /proc, /sys and debugfs files this machine has (`ProcFile.all`
    /// filtered by its configuration), by path.
    let procFiles: [String: ProcFile]
    /// failslab and fail_page_alloc (Faults/).
    public let faults: FaultInjection

    /// Host bytes the simulated memory contents may use (4 KiB per frame
    /// written). Exceeding it throws `SimulatorLimitError.memoryLimitExceeded`.
    public var contentsByteLimit: Int {
        get { phys.limit }
        set { phys.limit = max(0, newValue) }
    }
    /// Host bytes the memory contents use now.
    public var contentsBytesStored: Int { phys.storedBytes }

    // MARK: memory model state (see Memory/)
    let phys: PhysicalMemory
    let buddy: Buddy
    var zones: [Zone] { buddy.zones }
    /// zonelists[i]: populated zones from index i down to 0.
    var zonelists: [[Zone]] = []
    let lru = PageCacheLRU()
    var kswapdPending = false
    var kswapdClasszone = 0
    /// The TLB of the CPU running now: one of `tlbs`, switched with the CPU
    /// (`switchToCPU`), so the translation path reads one reference.
    var tlb: TLB
    /// One TLB per online CPU (`boot{cpus=N}`).
    let tlbs: [TLB]
    var pgdPfn: UInt64 = 0
    var booting = true
    var bootTableNext: UInt64 = 0
    var bootTableEnd: UInt64 = 0
    var pageTablePages = 0
    let slab: SlabAllocator
    let vm: VmallocSpace
    let interned = InternTable()
    var largeKmallocs: [UInt64: AllocInfo] = [:]
    var pageAllocations: [UInt64: AllocInfo] = [:]
    var pkmap: PkmapState
    var kmapLocalStack: [UInt64] = []
    /// Reserved and page-table frames a write has been reported for (Access.swift).
    var protectedWritesReported: Set<UInt64> = []
    /// warn_alloc()'s nopage_rs (mm/page_alloc.c: one report per 10 s on
    /// 6.x; 2.6.18 used printk_ratelimit()), set for the era in init.
    var warnAllocRatelimit = Ratelimit(interval: 10_000_000_000, burst: 1)
    /// SWIOTLB's bounce pool on x86_64 with more than 4 GiB (Devices/Swiotlb.swift).
    var swiotlb: SwiotlbPool?
    /// What the last end-of-run kmemleak scan found (Leaks.swift).
    var lastKmemleakScan: [KernelReport]?
    /// vfree_atomic()'s per-CPU list and its work item (Vmalloc.swift).
    var vfreeDeferred: [UInt64] = []
    var delayedVfreeWorkItem: WorkItem?
    /// Pages of vmap areas freed but not yet purged (mm/vmalloc.c
    /// `vmap_lazy_nr`), and the work item that purges them (TlbShootdown.swift).
    var vmapLazyPages: UInt64 = 0
    var drainVmapWorkItem: WorkItem?
    /// `printk_ratelimit()`'s window for smp_processor_id()'s BUG (Cpus.swift).
    var smpIdRatelimit = Ratelimit.printkDefault
    var dieCount = 0
    var allocSequence: UInt64 = 0
    var minFreeKbytes = 0
    var reservedPages: UInt64 = 0
    var presentPages: UInt64 = 0
    var userPageCount = 0
    /// a.out and the processes user.spawn started (User/UserProcesses.swift).
    let userProcessTable = UserProcessTable()
    /// Set when the OOM killer found nothing to kill and panicked (OOMKiller.swift).
    var oomPanic: KernelOops?
    /// oom_kill_process()'s oom_rs (DEFAULT_RATELIMIT_INTERVAL, _BURST).
    var oomRatelimit = Ratelimit.printkDefault

    /// The default machine: x86_32, 1 GiB, era 6.x.
    public convenience init() {
        self.init(validated: .standard)
    }

    /// Boots a machine; throws `BootError` (and builds nothing) for a
    /// configuration out of range.
    public convenience init(config: MachineConfig) throws {
        try config.validate()
        self.init(validated: config)
    }

    init(validated config: MachineConfig) {
        self.config = config
        layout = KernelLayout(config: config)
        vm = VmallocSpace(base: layout.vmallocStart)
        phys = PhysicalMemory(totalPages: layout.totalPages, seed: config.seed, limit: 256 << 20)
        interned.reserveBytes = { [unowned phys] n in phys.reserveHostBytes(n) }
        var zs: [Zone] = []
        for (i, z) in layout.zones.enumerated() {
            zs.append(Zone(type: z.type, index: i, start: z.start, end: z.end, zoneCount: layout.zones.count))
        }
        buddy = Buddy(phys: phys, zones: zs, mergeToTail: config.era == .v6)
        tlbs = (0..<max(1, config.cpus)).map { _ in TLB(small: config.tlbEntries4K, large: config.tlbEntriesLarge) }
        tlb = tlbs[0]
        slab = SlabAllocator(layout: layout, ramBytes: layout.totalPages << 12)
        pkmap = PkmapState(count: layout.lastPkmap)
        faults = FaultInjection(seed: config.seed, ulongBits: layout.pointerSize * 8, available: config.era == .v6)
        // The contexts model prints the same kernel as the memory model.
        contexts.pointerBits = layout.pointerSize * 8
        contexts.kernelRelease = layout.kernelRelease
        contexts.legacyKernel = config.era == .v2_6
        contexts.bringUpCPUs(config.cpus)
        procFiles = ProcFile.present(for: config)
        if config.era == .v2_6 { warnAllocRatelimit = .printkDefault }
        boot()
        if let t = Machine.swiotlbRange(config) {
            swiotlb = SwiotlbPool(start: t.start, bytes: t.end - t.start)
        }
        loadKmlabModule()
        setUpFaultInjection()
    }

    /// Simulated time since power-on when the script (the module) starts.
    public static let moduleLoadUptime: UInt64 = 4_812_337_000

    /// The script is the module `kmlab`, loaded by insmod after boot. It is
    /// built out of tree, so loading it sets TAINT_OOT_MODULE (kernel/module/main.c
    /// module_augment_kernel_taints(): the warning once, then add_taint_module);
    /// every later report shows `O`. Out-of-tree taint did not exist in 2.6.18.
    func loadKmlabModule() {
        // The machine reaches user space and insmod runs a few seconds after
        // power-on, as on a QEMU guest: printk time stamps (local_clock, the
        // same clock as ktime_get_ns here) go on from there, instead of every
        // report reading [    0.000000].
        clockNanoseconds = Machine.moduleLoadUptime
        guard config.era == .v6 else { return }
        if config.bootMessages { printk("kmlab: loading out-of-tree module taints kernel.") }
        contexts.addTaint(.ootModule)
    }

    /// Logs a report, stamped with the simulated time. An `.oops` report is
    /// also thrown as `KernelOops` by the caller, which ends the running task.
    public func raise(_ report: KernelReport) {
        log.record(report, timeNanoseconds: clockNanoseconds)
    }

    /// This machine has been replaced (`boot{}` from a callback): its
    /// pending interrupts, tasklets and work are dropped, and the loops that
    /// may still be running it on the host stack (a softirq round, a flush,
    /// pending irqs) stop at their next step instead of calling callbacks
    /// whose Lua references the new machine's glue has released.
    public func retire() {
        isRetired = true
        contexts.pendingIrqs.removeAll()
        for t in contexts.taskletQueue { t.isScheduled = false }
        contexts.taskletQueue.removeAll()
        for w in contexts.workQueue { w.isPending = false }
        contexts.workQueue.removeAll()
    }

    /// The Lua call stack as Call Trace lines, or nothing outside Lua.
    public func callTrace() -> [String] { traceBeingSaved ?? callTraceProvider?() ?? [] }

    /// The trace the stack depot is refusing, while its warning is raised
    /// (asking the provider then would intern again).
    private var traceBeingSaved: [String]?

    /// The current call trace as an interned id (0: none), as allocation
    /// records keep it.
    @inline(__always) func currentTraceId() -> Int32 {
        if let source = callTraceSourceRef { return source._withUnsafeGuaranteedRef { $0.traceId(in: self) } }
        return callTraceProvider == nil ? 0 : internTrace(callTrace())
    }

    /// The id of `trace` in this machine's intern table (0 for an empty one).
    public func internTrace(_ trace: [String]) -> Int32 {
        let id = interned.trace(trace)
        if interned.overflowed {
            interned.overflowed = false
            // lib/stackdepot.c depot_alloc_stack(): WARN_ONCE(1, "Stack depot
            // reached limit capacity"), as in the report quoted by the commit
            // "lib/stackdepot: double DEPOT_POOLS_CAP if KASAN is enabled".
            traceBeingSaved = trace
            defer { traceBeingSaved = nil }
            warnOnce("stackdepot", site: ("lib/stackdepot.c", 252), function: "depot_alloc_stack",
                     message: "Stack depot reached limit capacity")
        }
        return id
    }

    /// The trace interned as `id` (empty for an unknown id).
    public func internedTrace(_ id: Int32) -> [String] {
        let i = Int(id)
        return i >= 0 && i < interned.traces.count ? interned.traces[i] : []
    }
}

/// Names the current call stack by an id in a machine's intern table (see
/// `Machine.callTraceSource`). A class rather than a closure: the
/// allocation path calls it at every kmalloc and kfree.
open class CallTraceSource {
    public init() {}
    /// The current stack's id in `machine`'s intern table (0: none).
    open func traceId(in machine: Machine) -> Int32 { 0 }
}
