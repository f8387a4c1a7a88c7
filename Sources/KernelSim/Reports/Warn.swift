/// Raising reports: WARN() and WARN_ONCE() in `__warn()`'s layout
/// (kernel/panic.c), `warn_alloc()` (mm/page_alloc.c), Oopses and BUG().
/// Every report goes through `raise`, which logs it and hands it to the
/// script's report hooks.
extension Machine {
    /// The common fields of every report raised here: the context and who ran.
    func contextFields(_ extra: [String: String] = [:]) -> [String: String] {
        var f: [String: String] = [
            "pid": String(contexts.currentPid),
            "comm": contexts.currentComm,
            "preempt_count": String(contexts.preemptCount, radix: 16),
            "irqs_disabled": contexts.irqsDisabled ? "1" : "0",
            "in_atomic": contexts.inAtomic ? "1" : "0",
        ]
        for (k, v) in extra { f[k] = v }
        return f
    }

    /// A WARN() as `__warn()` (kernel/panic.c) prints it: cut here, the
    /// message, `WARNING: CPU: 0 PID: N at FILE:LINE FUNCTION`, the stack
    /// dump, the end-of-trace marker; then TAINT_WARN. Not yet logged: pass it
    /// to `raise`.
    ///
    /// `kernelFrames` are the kernel functions printed first in the Call
    /// Trace; nil means `function` alone, `[]` none (the script's frames only).
    public func warnReport(message: String, file: String, line: Int, function: String,
                           kind: KernelReport.Kind = .warning,
                           kernelFrames: [String]? = nil,
                           fields: [String: String] = [:]) -> KernelReport {
        if contexts.legacyKernel {
            return legacyWarnReport(message: message, file: file, line: line, function: function,
                                    kind: kind, kernelFrames: kernelFrames, fields: fields)
        }
        var lines = ["------------[ cut here ]------------"]
        if !message.isEmpty {
            lines += message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        // __warn(): "WARNING: CPU: %d PID: %d at %s:%d %pS" (the caller with
        // its offset), then print_modules() before the register dump.
        let caller = function.contains("+0x") ? function : symbol(function)
        lines.append("WARNING: CPU: \(contexts.cpu) PID: \(contexts.currentPid) at \(file):\(line) \(caller)")
        lines.append(contexts.modulesLinkedInLine)
        // show_regs(): dump_stack's CPU/Hardware/Workqueue lines, the
        // instruction pointer (`RIP: 0010:%pS` on x86_64, `EIP: %pS` on
        // x86_32), then the Call Trace. Registers and Code: are not modelled.
        var stack = dumpStackLines(kernelFrames: kernelFrames ?? [function])
        let trace = stack.firstIndex(of: "Call Trace:") ?? stack.count
        stack.insert((layout.arch == .x86_64 ? "RIP: 0010:" : "EIP: ") + caller, at: trace)
        lines += stack
        lines.append("---[ end trace 0000000000000000 ]---")
        contexts.addTaint(.warn)
        var report = KernelReport(kind: kind, severity: .warning, lines: lines,
                                  context: contexts.contextName,
                                  fields: contextFields(fields.merging(["file": file, "line": String(line)]) { a, _ in a }))
        report.headline = message.isEmpty ? lines[1] : String(message.prefix { $0 != "\n" })
        return report
    }

    /// 2.6.18's WARN_ON() (include/asm-generic/bug.h): `BUG: warning at
    /// FILE:LINE/FUNCTION()` and dump_stack(); no cut-here or end-of-trace
    /// lines, no module list, and no TAINT_WARN (it came in 2.6.26). A
    /// message (WARN() with a format came in 2.6.27) is printed first.
    func legacyWarnReport(message: String, file: String, line: Int, function: String,
                          kind: KernelReport.Kind, kernelFrames: [String]?,
                          fields: [String: String]) -> KernelReport {
        var lines: [String] = []
        if !message.isEmpty {
            lines += message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        let bare = function.drop { $0 == " " }.prefix { $0 != "+" && $0 != " " }
        lines.append("BUG: warning at \(file):\(line)/\(bare)()")
        lines += dumpStackLines(kernelFrames: kernelFrames ?? [function])
        var report = KernelReport(kind: kind, severity: .warning, lines: lines,
                                  context: contexts.contextName,
                                  fields: contextFields(fields.merging(["file": file, "line": String(line)]) { a, _ in a }))
        report.headline = lines[0]
        return report
    }

    /// WARN_ONCE(): logs the warning the first time `site` warns, and returns
    /// whether it did.
    @discardableResult
    func warnOnce(site: String, message: String, file: String, line: Int, function: String,
                  kind: KernelReport.Kind = .warning, kernelFrames: [String]? = nil,
                  fields: [String: String] = [:]) -> Bool {
        guard !contexts.warnedOnce.contains(site) else { return false }
        contexts.warnedOnce.insert(site)
        raise(warnReport(message: message, file: file, line: line, function: function,
                         kind: kind, kernelFrames: kernelFrames, fields: fields))
        return true
    }

    /// Logs a WARNING-class report (execution continues) and taints W.
    func warn(kind: KernelReport.Kind, lines: [String], address: UInt64? = nil, size: Int? = nil,
              cache: String? = nil, fields: [String: String] = [:]) {
        raise(KernelReport(kind: kind, severity: .warning, lines: lines, address: address, size: size,
                           cache: cache, context: contexts.contextName, fields: fields))
    }

    /// WARN_ON_ONCE(): only the first time per `key` in this boot. The
    /// call trace holds the script's frames only (no kernel frame).
    func warnOnce(_ key: String, site: (String, Int), function: String, message: String? = nil) {
        warnOnce(site: key, message: message ?? "", file: site.0, line: site.1, function: function,
                 kernelFrames: [], fields: ["site": "\(site.0):\(site.1)"])
    }

    /// warn_alloc() (mm/page_alloc.c): rate-limited like the kernel. 6.12's
    /// warn_alloc() has its own `DEFINE_RATELIMIT_STATE(nopage_rs, 10*HZ, 1)`:
    /// one report per 10 s of simulated time, and when a new window opens
    /// after suppressed ones, ___ratelimit() first logs "warn_alloc: N
    /// callbacks suppressed". 2.6.18's __alloc_pages() used printk_ratelimit()
    /// (10 per 5 s).
    func warnAlloc(_ gfp: GFP, _ what: String) {
        let limit = warnAllocRatelimit.check(at: clockNanoseconds)
        if limit.suppressed > 0 && config.era == .v6 {
            printk("warn_alloc: \(limit.suppressed) callbacks suppressed")
        }
        guard limit.allowed else { return }
        var lines: [String]
        if config.era == .v2_6, let r = what.range(of: "page allocation failure: ") {
            // 2.6.18 __alloc_pages(): "%s: page allocation failure. order:%d, mode:0x%x".
            lines = ["\(contexts.currentComm): page allocation failure. \(what[r.upperBound...]), mode:0x\(String(GFPLegacy.value(gfp), radix: 16))"]
        } else {
            // 6.x warn_alloc(): "%s: %pV, mode:%#x(%pGg), nodemask=%*pbl" + cpuset_print_current_mems_allowed().
            lines = ["\(contexts.currentComm): \(what), mode:\(gfp.mode), nodemask=(null),cpuset=/,mems_allowed=0"]
        }
        // 6.12's names (__alloc_pages became __alloc_pages_noprof with the
        // allocation-profiling hooks of 6.10); the offsets are symbol()'s
        // stable stand-ins: a 6.12 build's own depend on its .config.
        // 2.6.18's __alloc_pages() called dump_stack() itself.
        let frames = config.era == .v2_6 ? ["dump_stack", "__alloc_pages"]
            : ["warn_alloc", "__alloc_pages_slowpath.constprop.0", "__alloc_pages_noprof"]
        lines += dumpStackLines(kernelFrames: frames.map { symbol($0) })
        lines += showMemLines(for: gfp)
        var fields = ["gfp": gfp.mode]
        if let r = what.range(of: "order:") { fields["order"] = String(what[r.upperBound...]) }
        warn(kind: .allocationFailure, lines: lines, fields: fields)
    }

    /// Logs an Oops-class report (taints D) and returns the error to throw.
    func oops(kind: KernelReport.Kind, lines: [String], address: UInt64? = nil,
              fields: [String: String] = [:]) -> KernelOops {
        addTaint(.die)
        let r = KernelReport(kind: kind, severity: .oops, lines: lines, address: address,
                             context: contexts.contextName, fields: fields)
        raise(r)
        return KernelOops(report: r)
    }

    /// "kernel BUG at FILE:LINE!" (BUG_ON / VIRTUAL_BUG_ON).
    func kernelBug(kind: KernelReport.Kind = .bug, file: String, line: Int, function: String,
                   address: UInt64? = nil, before: [String] = []) -> KernelOops {
        dieCount += 1
        var l = before
        l.append("------------[ cut here ]------------")
        l.append("kernel BUG at \(file):\(line)!")
        l.append("invalid opcode: 0000 [#\(dieCount)] PREEMPT SMP" + (layout.arch == .x86_64 ? " KASAN NOPTI" : ""))
        l.append(cpuLine)
        l.append(hardwareLine)
        l.append((layout.arch == .x86_64 ? "RIP: 0010:" : "EIP: ") + symbol(function))
        l += callTraceBlock(kernelFrames: [])
        l.append(contexts.modulesLinkedInLine)
        l.append("---[ end trace 0000000000000000 ]---")
        return oops(kind: kind, lines: l, address: address, fields: ["site": "\(file):\(line)"])
    }
}
