/// What every debug report prints about where it happened: `print_tainted()`,
/// the kernel ident, `dump_stack()` with its CPU/PID/Comm line, and the Call
/// Trace built from the Lua stack with the `<IRQ>`/`<TASK>` split of
/// arch/x86/kernel/dumpstack.c (lib/dump_stack.c, kernel/panic.c).
extension ExecutionState {
    /// `print_tainted()` (kernel/panic.c): `Not tainted`, or `Tainted: ` and
    /// one character per flag of taint_flags[] (c_true if set, c_false if not).
    /// 2.6.18's print_tainted() knew only the first six flags
    /// ("Tainted: %c%c%c%c%c%c", P/G F S R M B); later flags (W, D, O ...)
    /// did not exist and print nothing.
    public var taintString: String {
        let known = legacyKernel ? Array(TaintFlag.allCases.prefix(6)) : TaintFlag.allCases
        if !known.contains(where: { taints.contains($0) }) { return "Not tainted" }
        var s = "Tainted: "
        for flag in known {
            s.append(taints.contains(flag) ? flag.letters.0 : flag.letters.1)
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
    public func addTaint(_ flag: TaintFlag) { taints.insert(flag) }

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
    /// print_tainted(): "Not tainted" or "Tainted: G    B   W          ",
    /// of the machine's one taint set (kept by `contexts`).
    public var taintString: String { contexts.taintString }

    public func addTaint(_ flag: TaintFlag) { contexts.addTaint(flag) }

    /// dump_stack_print_info(): the same CPU/PID/Comm line as every other report.
    public var cpuLine: String { contexts.cpuLine() }

    public var hardwareLine: String { "Hardware name: \(contexts.hardwareName)" }

    /// The Lua call stack as trace lines, or a stand-in frame outside Lua.
    var scriptFrames: [String] {
        let t = callTrace()
        return t.isEmpty ? [symbol("init_module", module: "kmlab")] : t
    }

    /// The innermost frame of the script, as `%pS` prints a caller.
    var scriptCaller: String {
        let t = callTrace()
        if let first = t.first {
            let trimmed = first.drop { $0 == " " }
            return trimmed.isEmpty ? symbol("init_module", module: "kmlab") : String(trimmed)
        }
        return symbol("init_module", module: "kmlab")
    }

    /// The innermost frame of the script's own code (a Lua function, not the
    /// kernel API function it called), as `%pS` of a caller: what
    /// /proc/vmallocinfo names as the caller of vmalloc and KASAN as the
    /// function doing the bad access.
    var scriptCallerSite: String {
        for line in callTrace() where line.contains(" [") {
            let trimmed = line.drop { $0 == " " }
            if !trimmed.isEmpty { return String(trimmed) }
        }
        return symbol("init_module", module: "kmlab")
    }

    /// The Call Trace of an Oops or BUG(): as `callTraceLines`, with a
    /// stand-in module frame when no script is running (so the block is
    /// never empty).
    public func callTraceBlock(kernelFrames: [String]) -> [String] {
        callTraceLines(kernelFrames: kernelFrames, standIn: true)
    }

    /// The `Call Trace:` block: the kernel functions of the report itself
    /// (innermost first, e.g. `dump_stack_lvl`, `__might_resched`), then the
    /// Lua stack split at every entered context, with the kernel's entry
    /// functions and the `<IRQ>`/`<TASK>` markers of arch/x86/kernel/dumpstack.c.
    public func callTraceLines(kernelFrames: [String] = [], standIn: Bool = false) -> [String] {
        let trace = (standIn ? scriptFrames : callTrace()).map { $0.hasPrefix(" ") ? $0 : " " + $0 }
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
        if contexts.legacyKernel {
            return legacyTrace(sections.flatMap(\.lines), header: true)
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
        if contexts.legacyKernel {
            // 2.6.18's dump_stack() is show_trace() alone: no CPU or
            // Hardware name line (dump_stack_print_info came in 3.x).
            let trace = callTraceLines(kernelFrames: kernelFrames)
            return layout.arch == .x86_32 ? Array(trace.dropFirst()) : trace
        }
        var lines = [contexts.cpuLine(), "Hardware name: \(contexts.hardwareName)"]
        if let w = contexts.workerInfoLine { lines.append(w) }
        return lines + callTraceLines(kernelFrames: kernelFrames)
    }

    /// 2.6.18's trace: one ` [<address>] symbol` line per frame with no
    /// `<IRQ>`/`<TASK>` markers. i386 (arch/i386/kernel/traps.c
    /// show_stack_log_lvl, show_trace_log_lvl, print_trace_address):
    /// `Call Trace:` (show_stack only; dump_stack prints none), the frames,
    /// then ` =======================`. x86_64 (arch/x86_64/kernel/traps.c
    /// show_trace, printk_address): a blank line, `Call Trace:`, the frames
    /// with 16-digit addresses, a blank line. kmlab has no real text
    /// addresses: each frame gets a fixed one made from its name, in kernel
    /// text for kernel functions and in module space for the script's frames
    /// (so the same frame prints the same address in every run).
    func legacyTrace(_ frames: [String], header: Bool) -> [String] {
        let is64 = layout.arch == .x86_64
        let lines = frames.map { frame -> String in
            var text = Substring(frame.drop { $0 == " " })
            if text.hasPrefix("? ") { text = text.dropFirst(2) }  // 2.6.18 had no unreliable marks
            let inModule = text.contains(" [")
            let name = text.prefix { $0 != "+" && $0 != " " }
            var offset: UInt64 = 0
            if let plus = text.firstIndex(of: "+"), text[plus...].hasPrefix("+0x") {
                let digits = text[text.index(plus, offsetBy: 3)...].prefix { $0.isHexDigit }
                offset = UInt64(digits, radix: 16) ?? 0
            }
            // FNV-1a of the name: a stable, spread-out place for the function.
            var h: UInt32 = 2_166_136_261
            for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            let place = UInt64(h % 0x1f_0000) & ~0xf
            let base: UInt64 = is64 ? (inModule ? 0xffff_ffff_8800_0000 : 0xffff_ffff_8020_0000)
                                    : (inModule ? 0xf880_0000 : 0xc010_0000)
            let address = String(base + place + offset, radix: 16)
            let padded = String(repeating: "0", count: max(0, (is64 ? 16 : 8) - address.count)) + address
            return " [<\(padded)>] \(text)"
        }
        if is64 { return ["", "Call Trace:"] + lines + [""] }
        return (header ? ["Call Trace:"] : []) + lines + [" ======================="]
    }
}
