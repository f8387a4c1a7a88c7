/// The kernel's fault-injection capabilities for memory allocation
/// (Documentation/fault-injection/fault-injection.rst): failslab
/// (mm/failslab.c) makes slab allocations fail, fail_page_alloc
/// (mm/fail_page_alloc.c) page allocations. Both are configured by boot
/// parameters (`failslab=`, `fail_page_alloc=`) and by the debugfs files
/// under /sys/kernel/debug/failslab/ and /sys/kernel/debug/fail_page_alloc/.
///
/// A forced failure is what the caller of the allocator sees as NULL; as
/// in the kernel it skips the allocator's own failure warning (failslab
/// returns before the slab is touched, fail_page_alloc before
/// `__alloc_pages` reaches its slow path and `warn_alloc`).
import SeededRandom

public final class FaultInjection {
    public var failslab = FaultAttr()
    /// failslab's `ignore-gfp-wait` (ignore_gfp_reclaim): sleeping
    /// allocations (__GFP_DIRECT_RECLAIM, e.g. GFP_KERNEL) never fail. On by default.
    public var failslabIgnoreGfpWait = true
    /// failslab's `cache-filter`: only caches created with SLAB_FAILSLAB fail.
    public var failslabCacheFilter = false

    public var failPageAlloc = FaultAttr()
    public var failPageAllocIgnoreGfpWait = true
    public var failPageAllocIgnoreGfpHighmem = true
    /// Requests of a smaller order never fail (default 1: single pages are spared).
    public var failPageAllocMinOrder: UInt32 = 1

    /// get_random_u32_below()'s source: seeded from the machine's seed, and
    /// separate from the memory contents' generator so that turning fault
    /// injection on changes nothing else.
    var random: SplitMix64
    /// The machine's own boot is not subject to injection (its allocations
    /// are not individual kernel calls); armed once the machine is up.
    var armed = false
    /// Width of `unsigned long` (probability, interval, verbose).
    let ulongBits: Int
    /// Whether the era has the capabilities (2.6.20 and later: not 2.6.18).
    public let available: Bool

    init(seed: UInt64, ulongBits: Int, available: Bool) {
        random = SplitMix64(seed: seed ^ 0xFA17_FA17_0BAD_F00D)
        self.ulongBits = ulongBits
        self.available = available
    }

    var ulongMask: UInt64 { ulongBits >= 64 ? .max : (1 << UInt64(ulongBits)) - 1 }

    // MARK: debugfs

    /// One attribute file: how it prints and how a write parses.
    struct File {
        let name: String
        let read: (FaultInjection) -> String
        /// nil on success, else the errno a write(2) gets.
        let write: (FaultInjection, [UInt8]) -> Errno?
    }

    static let failslabDirectory = "/sys/kernel/debug/failslab"
    static let failPageAllocDirectory = "/sys/kernel/debug/fail_page_alloc"

    /// The files fault_create_debugfs_attr() makes for `attr`, then the
    /// capability's own (without the stack-trace filter files of
    /// CONFIG_FAULT_INJECTION_STACKTRACE_FILTER).
    static func files(_ attr: ReferenceWritableKeyPath<FaultInjection, FaultAttr>, extra: [File]) -> [File] {
        [ulong("probability", attr.appending(path: \.probability)),
         ulong("interval", attr.appending(path: \.interval)),
         atomic("times", attr.appending(path: \.times)),
         atomic("space", attr.appending(path: \.space)),
         ulong("verbose", attr.appending(path: \.verbose)),
         u32("verbose_ratelimit_interval_ms", attr.appending(path: \.ratelimitIntervalMs)),
         u32("verbose_ratelimit_burst", attr.appending(path: \.ratelimitBurst)),
         bool("task-filter", attr.appending(path: \.taskFilter))] + extra
    }

    static let failslabFiles: [File] = files(\.failslab, extra: [
        bool("ignore-gfp-wait", \.failslabIgnoreGfpWait),
        bool("cache-filter", \.failslabCacheFilter),
    ])

    static let failPageAllocFiles: [File] = files(\.failPageAlloc, extra: [
        bool("ignore-gfp-wait", \.failPageAllocIgnoreGfpWait),
        bool("ignore-gfp-highmem", \.failPageAllocIgnoreGfpHighmem),
        u32("min-order", \.failPageAllocMinOrder),
    ])

    /// Every file by path.
    static let allFiles: [(path: String, file: File)] =
        failslabFiles.map { (failslabDirectory + "/" + $0.name, $0) }
        + failPageAllocFiles.map { (failPageAllocDirectory + "/" + $0.name, $0) }

    /// simple_attr_write() reads at most sizeof(set_buf) - 1 = 23 bytes.
    static func attrBuffer(_ text: [UInt8]) -> [UInt8] { Array(text.prefix(23)) }

    /// debugfs_create_ul() (fops_ul, "%llu\n"); unsigned long truncates on 32-bit.
    static func ulong(_ name: String, _ path: ReferenceWritableKeyPath<FaultInjection, UInt64>) -> File {
        File(name: name, read: { "\($0[keyPath: path])\n" }, write: { f, text in
            switch KernelStringParse.unsigned(attrBuffer(text)) {
            case .failure(let e): return e.errno
            case .success(let v): f[keyPath: path] = v & f.ulongMask; return nil
            }
        })
    }

    /// debugfs_create_u32() ("%llu\n"; the value is truncated to 32 bits).
    static func u32(_ name: String, _ path: ReferenceWritableKeyPath<FaultInjection, UInt32>) -> File {
        File(name: name, read: { "\($0[keyPath: path])\n" }, write: { f, text in
            switch KernelStringParse.unsigned(attrBuffer(text)) {
            case .failure(let e): return e.errno
            case .success(let v): f[keyPath: path] = UInt32(truncatingIfNeeded: v); return nil
            }
        })
    }

    /// debugfs_create_atomic_t() ("%lld\n", signed; atomic_set truncates to int).
    static func atomic(_ name: String, _ path: ReferenceWritableKeyPath<FaultInjection, Int32>) -> File {
        File(name: name, read: { "\($0[keyPath: path])\n" }, write: { f, text in
            switch KernelStringParse.signed(attrBuffer(text)) {
            case .failure(let e): return e.errno
            case .success(let v): f[keyPath: path] = Int32(truncatingIfNeeded: v); return nil
            }
        })
    }

    /// debugfs_create_bool(): reads "Y\n" or "N\n"; a write goes through
    /// kstrtobool_from_user (at most 3 bytes).
    static func bool(_ name: String, _ path: ReferenceWritableKeyPath<FaultInjection, Bool>) -> File {
        File(name: name, read: { $0[keyPath: path] ? "Y\n" : "N\n" }, write: { f, text in
            guard let v = KernelStringParse.bool(Array(text.prefix(3))) else { return .EINVAL }
            f[keyPath: path] = v
            return nil
        })
    }
}

extension Machine {
    /// Applies `boot{failslab=..., fail_page_alloc=...}` (setup_fault_attr),
    /// logging the kernel's warning for a string it cannot parse.
    func setUpFaultInjection() {
        guard faults.available else { return }
        if let s = config.failslab, !faults.failslab.setup(s, ulongBits: faults.ulongBits) {
            printk("FAULT_INJECTION: failed to parse arguments")
        }
        if let s = config.failPageAlloc, !faults.failPageAlloc.setup(s, ulongBits: faults.ulongBits) {
            printk("FAULT_INJECTION: failed to parse arguments")
        }
        faults.armed = true
    }

    /// should_failslab() (mm/failslab.c) for an allocation from cache `c`
    /// of `objectSize` bytes; `caller` names the allocator entry for the
    /// stack dump ("__kmalloc", "kmem_cache_alloc").
    @inline(__always)
    func shouldFailslab(objectSize: Int, failslabFlag: Bool, _ gfp: GFP, caller: String) -> Bool {
        if faults.failslab.probability == 0 || !faults.armed { return false }
        return shouldFailslabSlow(objectSize: objectSize, failslabFlag: failslabFlag, gfp, caller: caller)
    }

    private func shouldFailslabSlow(objectSize: Int, failslabFlag: Bool, _ gfp: GFP, caller: String) -> Bool {
        if gfp.contains(.nofail) { return false }
        if faults.failslabIgnoreGfpWait && gfp.contains(.directReclaim) { return false }
        if faults.failslabCacheFilter && !failslabFlag { return false }
        guard faults.failslab.shouldFail(size: objectSize, random100: { self.faults.random.below(100) }) else {
            return false
        }
        if !gfp.contains(.nowarn) {
            failDump(\.failslab, name: "failslab", frames: ["should_failslab", caller])
        }
        faults.failslab.consumeTime()
        return true
    }

    /// should_fail_alloc_page() (mm/fail_page_alloc.c), asked by
    /// __alloc_pages before it looks at the free lists.
    @inline(__always)
    func shouldFailAllocPage(_ gfp: GFP, _ order: Int) -> Bool {
        if faults.failPageAlloc.probability == 0 || !faults.armed { return false }
        if order < Int(faults.failPageAllocMinOrder) { return false }
        if gfp.contains(.nofail) { return false }
        if faults.failPageAllocIgnoreGfpHighmem && gfp.contains(.highmem) { return false }
        if faults.failPageAllocIgnoreGfpWait && gfp.contains(.directReclaim) { return false }
        guard faults.failPageAlloc.shouldFail(size: 1 << order, random100: { self.faults.random.below(100) }) else {
            return false
        }
        if !gfp.contains(.nowarn) {
            failDump(\.failPageAlloc, name: "fail_page_alloc",
                     frames: ["should_fail_alloc_page", "prepare_alloc_pages.constprop.0", "__alloc_pages"])
        }
        faults.failPageAlloc.consumeTime()
        return true
    }

    /// fail_dump() (lib/fault-inject.c): with verbose > 0 and the rate limit
    /// allowing, the KERN_NOTICE lines; with verbose > 1 also dump_stack().
    /// `times` is printed before it is decremented, as in the kernel.
    func failDump(_ attr: ReferenceWritableKeyPath<FaultInjection, FaultAttr>, name: String, frames: [String]) {
        let a = faults[keyPath: attr]
        guard a.verbose > 0 else { return }
        let (allowed, suppressed) = faults[keyPath: attr].ratelimitAllows(now: clockNanoseconds)
        if suppressed > 0 { printk("fail_dump: \(suppressed) callbacks suppressed") }
        guard allowed else { return }
        var lines = ["FAULT_INJECTION: forcing a failure.",
                     "name \(name), interval \(a.interval), probability \(a.probability), space \(a.space), times \(a.times)"]
        if a.verbose > 1 {
            lines += dumpStackLines(kernelFrames: (["dump_stack_lvl", "should_fail_ex"] + frames).map { symbol($0) })
        }
        printk(lines.joined(separator: "\n"))
    }

    /// `echo TEXT > PATH`: writes to a writable /proc, /sys or debugfs file
    /// the simulator models. nil on success; ENOENT for a path that does not
    /// exist, EACCES for a read-only one (kernfs refuses the open), else the
    /// errno the file's write handler returns (EINVAL for text it cannot parse).
    public func writeFile(_ path: String, _ text: String) -> Errno? {
        writeFile(path, bytes: Array(text.utf8))
    }

    /// `writeFile` of raw bytes (echo adds the newline).
    public func writeFile(_ path: String, bytes text: [UInt8]) -> Errno? {
        let bytes = text + [10]
        guard let file = procFiles[path] else { return .ENOENT }
        guard let write = file.write else { return .EACCES }
        return write(self, bytes)
    }

    /// Paths `writeFile` accepts, sorted.
    public var writablePaths: [String] { procFiles.values.filter(\.isWritable).map(\.path).sorted() }
}
