/// The pieces every debug report shares: `print_tainted()`, the kernel ident,
/// `dump_stack()` with its CPU/PID/Comm line and a Call Trace built from the
/// Lua stack, and the WARN() layout. Report code in any part of KernelSim can
/// use them (`machine.dumpStackLines`, `machine.warnReport`).
extension ExecutionState {
    /// `print_tainted()` (kernel/panic.c): `Not tainted`, or `Tainted: ` and
    /// one character per flag of taint_flags[] (c_true if set, c_false if not).
    /// 2.6.18's print_tainted() knew only the first six flags
    /// ("Tainted: %c%c%c%c%c%c", P/G F S R M B); later flags (W, D, O ...)
    /// did not exist and print nothing.
    public var taintString: String {
        let known = legacyKernel ? Array(Taint.allCases.prefix(6)) : Taint.allCases
        if !known.contains(where: { taints.contains($0) }) { return "Not tainted" }
        var s = "Tainted: "
        for flag in known {
            s.append(taints.contains(flag) ? flag.chars.0 : flag.chars.1)
        }
        return s
    }

    /// `print_modules()` (kernel/module/main.c): the loaded modules, each with
    /// its taint letters from module_flags(); kmlab is the one module, out
    /// of tree, so `kmlab(O)`. 2.6.18's print_modules() printed names only.
    public var modulesLinkedInLine: String {
        legacyKernel ? "Modules linked in: kmlab" : "Modules linked in: kmlab(O)"
    }

    /// `add_taint()`.
    public func addTaint(_ flag: Taint) { taints.insert(flag) }

    /// `print_kernel_ident()` (kernel/locking/lockdep.c): `6.12.0 #1 Tainted: ...`.
    public var kernelIdent: String { "\(kernelRelease) \(kernelBuild) \(taintString)" }

    /// `dump_stack_print_info()` (lib/dump_stack.c, the 6.12 format: UID since
    /// 6.11, no preemption model after the version until 6.15).
    public func cpuLine(for task: Task? = nil) -> String {
        let t = task ?? current
        return "CPU: \(cpu) UID: \(t.uid) PID: \(t.pid) Comm: \(t.comm.prefix(20)) \(taintString) \(kernelRelease) \(kernelBuild)"
    }

    /// `print_worker_info()`: a kworker names its workqueue and work function.
    var workerInfoLine: String? {
        guard current.isWorker, let work = runningWork else { return nil }
        return "Workqueue: events \(work.name)"
    }
}

extension Machine {
    /// The `Call Trace:` block: the kernel functions of the report itself
    /// (innermost first, e.g. `dump_stack_lvl`, `__might_resched`), then the
    /// Lua stack split at every entered context, with the kernel's entry
    /// functions and the `<IRQ>`/`<TASK>` markers of arch/x86/kernel/dumpstack.c.
    public func callTraceLines(kernelFrames: [String] = []) -> [String] {
        let trace = callTrace().map { $0.hasPrefix(" ") ? $0 : " " + $0 }
        let n = trace.count
        var sections: [(irq: Bool, lines: [String])] = []
        var pending = kernelFrames.map { " " + $0 }
        var upper = 0  // trace[0 ..< upper] are printed (innermost first)
        var stackEnded = false
        for frame in contexts.frames.reversed() {
            let lower = max(upper, min(n - frame.traceDepth, n))
            pending += Array(trace[upper..<lower]) + frame.entryFrames.map { " " + $0 }
            sections.append((frame.onIrqStack, pending))
            upper = lower
            if frame.endsStack { stackEnded = true; break }
            pending = frame.resumeFrames.map { " " + $0 }
        }
        if !stackEnded {
            pending += Array(trace[upper..<n])
            sections.append((false, pending))
        }
        var lines = ["Call Trace:"]
        var i = 0
        while i < sections.count {
            let irq = sections[i].irq
            var group: [String] = []
            while i < sections.count && sections[i].irq == irq {
                group += sections[i].lines
                i += 1
            }
            lines.append(irq ? " <IRQ>" : " <TASK>")
            lines += group
            lines.append(irq ? " </IRQ>" : " </TASK>")
        }
        return lines
    }

    /// `dump_stack()`: the CPU/PID/Comm line, `Hardware name:`, a kworker's
    /// `Workqueue:` line, and the Call Trace.
    public func dumpStackLines(kernelFrames: [String] = ["dump_stack_lvl"]) -> [String] {
        var lines = [contexts.cpuLine(), "Hardware name: \(contexts.hardwareName)"]
        if let w = contexts.workerInfoLine { lines.append(w) }
        return lines + callTraceLines(kernelFrames: kernelFrames)
    }

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
    public func warnReport(message: String, file: String, line: Int, function: String,
                           kind: KernelReport.Kind = .warning,
                           kernelFrames: [String] = [],
                           fields: [String: String] = [:]) -> KernelReport {
        var lines = ["------------[ cut here ]------------"]
        if !message.isEmpty {
            lines += message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        // __warn(): "WARNING: CPU: %d PID: %d at %s:%d %pS" (the caller with
        // its offset), then print_modules() before the register dump.
        let caller = function.contains("+0x") ? function : symbol(function)
        lines.append("WARNING: CPU: \(contexts.cpu) PID: \(contexts.currentPid) at \(file):\(line) \(caller)")
        lines.append(contexts.modulesLinkedInLine)
        lines += dumpStackLines(kernelFrames: kernelFrames.isEmpty ? [function] : kernelFrames)
        lines.append("---[ end trace 0000000000000000 ]---")
        contexts.addTaint(.warn)
        var report = KernelReport(kind: kind, severity: .warning, lines: lines,
                                  context: contexts.contextName,
                                  fields: contextFields(fields.merging(["file": file, "line": String(line)]) { a, _ in a }))
        report.headline = message.isEmpty ? lines[1] : String(message.prefix { $0 != "\n" })
        return report
    }

    /// WARN_ONCE(): logs the warning the first time `site` warns, and returns
    /// whether it did.
    @discardableResult
    func warnOnce(site: String, message: String, file: String, line: Int, function: String,
                  kind: KernelReport.Kind = .warning, fields: [String: String] = [:]) -> Bool {
        guard !contexts.warnedOnce.contains(site) else { return false }
        contexts.warnedOnce.insert(site)
        raise(warnReport(message: message, file: file, line: line, function: function,
                         kind: kind, fields: fields))
        return true
    }

    /// Prints a plain kernel log line (printk) at the current simulated time.
    public func printk(_ text: String) {
        log.print(text, timeNanoseconds: clockNanoseconds)
    }

    /// Advances the simulated clock (msleep, a hung task's wait, a lockup).
    public func advanceClock(nanoseconds: UInt64) {
        clockNanoseconds &+= nanoseconds
    }

    /// `jiffies` since boot (INITIAL_JIFFIES aside), at CONFIG_HZ.
    public var jiffies: UInt64 { clockNanoseconds / (1_000_000_000 / contexts.hz) }
}
