/// Pieces every kernel report shares: the CPU/task line, the hardware line,
/// the Call Trace block, taint, symbol and pointer formatting.
/// (lib/dump_stack.c, kernel/panic.c, arch/x86/kernel/dumpstack.c,
/// lib/vsprintf.c.)

/// Kernel taint flags (kernel/panic.c taint_flags[], 6.12 order).
public enum TaintFlag: Int, Sendable, CaseIterable {
    case proprietaryModule = 0, forcedModule, cpuOutOfSpec, forcedRmmod, machineCheck, badPage, user, die,
         overriddenACPITable, warn, crap, firmwareWorkaround, ootModule, unsignedModule, softlockup,
         livepatch, aux, randstruct, test

    var letters: (Character, Character) {
        switch self {
        case .proprietaryModule: return ("P", "G")
        case .forcedModule: return ("F", " ")
        case .cpuOutOfSpec: return ("S", " ")
        case .forcedRmmod: return ("R", " ")
        case .machineCheck: return ("M", " ")
        case .badPage: return ("B", " ")
        case .user: return ("U", " ")
        case .die: return ("D", " ")
        case .overriddenACPITable: return ("A", " ")
        case .warn: return ("W", " ")
        case .crap: return ("C", " ")
        case .firmwareWorkaround: return ("I", " ")
        case .ootModule: return ("O", " ")
        case .unsignedModule: return ("E", " ")
        case .softlockup: return ("L", " ")
        case .livepatch: return ("K", " ")
        case .aux: return ("X", " ")
        case .randstruct: return ("T", " ")
        case .test: return ("N", " ")
        }
    }
}

extension Machine {
    /// print_tainted(): "Not tainted" or "Tainted: G    B   W          ",
    /// of the machine's one taint set (kept by `contexts`).
    public var taintString: String { contexts.taintString }

    public func addTaint(_ flag: TaintFlag) {
        if let t = Taint(rawValue: flag.rawValue) { contexts.addTaint(t) }
    }

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

    /// "Call Trace:", " <TASK>", the kernel's own frames, the script's
    /// frames, " </TASK>" (arch/x86/kernel/dumpstack.c).
    public func callTraceBlock(kernelFrames: [String]) -> [String] {
        var out = ["Call Trace:", " <TASK>"]
        for f in kernelFrames { out.append(" " + f) }
        for f in scriptFrames { out.append(f.hasPrefix(" ") ? f : " " + f) }
        out.append(" </TASK>")
        return out
    }

    // dump_stack() itself is Contexts/DumpStack.swift's `dumpStackLines`, which
    // knows the IRQ/task split of the Call Trace.

    /// `%pS` of a kernel function: "name+0xOFF/0xSIZE" with stable offsets.
    public func symbol(_ name: String, module: String? = nil) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let size = 0x40 + (h & 0x7) * 0x40 + ((h >> 8) & 0x3) * 0x100
        let off = 0x10 + ((h >> 16) % (size - 0x20)) & ~UInt64(0x3)
        let s = "\(name)+0x\(String(off, radix: 16))/0x\(String(size, radix: 16))"
        return module.map { s + " [\($0)]" } ?? s
    }

    /// Width of `%px` / `%p`: 8 hex digits on x86_32, 16 on x86_64.
    var pointerDigits: Int { layout.pointerSize * 2 }

    /// `%px`: the raw pointer, zero-padded.
    public func px(_ v: UInt64) -> String { hexPad(v, pointerDigits) }

    /// `%p`: a hashed pointer (lib/vsprintf.c ptr_to_id: 32 bits of siphash
    /// with a boot-time key on 64-bit, printed at pointer width).
    public func hashedPointer(_ v: UInt64) -> String {
        let h = SplitMix64.mix(v ^ (config.seed &* 0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D) & 0xFFFF_FFFF
        return hexPad(h, pointerDigits)
    }

    // MARK: raising

    /// Logs a WARNING-class report (execution continues) and taints W.
    func warn(kind: KernelReport.Kind, lines: [String], address: UInt64? = nil, size: Int? = nil,
              cache: String? = nil, fields: [String: String] = [:]) {
        raise(KernelReport(kind: kind, severity: .warning, lines: lines, address: address, size: size,
                           cache: cache, context: contexts.contextName, fields: fields))
    }

    /// "------------[ cut here ]------------" WARN() at FILE:LINE in FUNCTION.
    func warnLines(message: String?, site: (String, Int), function: String) -> [String] {
        var l = ["------------[ cut here ]------------"]
        if let m = message { l.append(m) }
        l.append("WARNING: CPU: \(contexts.cpu) PID: \(contexts.currentPid) at \(site.0):\(site.1) \(symbol(function))")
        l.append(contexts.modulesLinkedInLine)
        l.append(cpuLine)
        l.append(hardwareLine)
        l.append((layout.arch == .x86_64 ? "RIP: 0010:" : "EIP: ") + symbol(function))
        l += callTraceBlock(kernelFrames: [])
        l.append("---[ end trace 0000000000000000 ]---")
        // kernel/panic.c __warn(): add_taint(TAINT_WARN) after the report is printed.
        addTaint(.warn)
        return l
    }

    /// WARN_ON_ONCE(): only the first time per `key` in this boot.
    func warnOnce(_ key: String, site: (String, Int), function: String, message: String? = nil) {
        if warnedOnce.contains(key) { return }
        warnedOnce.insert(key)
        warn(kind: .warning, lines: warnLines(message: message, site: site, function: function),
             fields: ["site": "\(site.0):\(site.1)"])
    }

    /// warn_alloc() (mm/page_alloc.c): rate-limited like the kernel. 6.12's
    /// warn_alloc() has its own `DEFINE_RATELIMIT_STATE(nopage_rs, 10*HZ, 1)`:
    /// one report per 10 s of simulated time, and when a new window opens
    /// after suppressed ones, ___ratelimit() first logs "warn_alloc: N
    /// callbacks suppressed". 2.6.18's __alloc_pages() used printk_ratelimit()
    /// (10 per 5 s).
    func warnAlloc(_ gfp: GFP, _ what: String) {
        let now = clockNanoseconds
        let v6 = config.era == .v6
        let interval: UInt64 = v6 ? 10_000_000_000 : 5_000_000_000
        let burst = v6 ? 1 : 10
        if !warnAllocWindowOpen || now &- warnAllocWindowStart >= interval {
            if warnAllocWindowOpen && warnAllocSuppressed > 0 && v6 {
                printk("warn_alloc: \(warnAllocSuppressed) callbacks suppressed")
            }
            warnAllocWindowOpen = true
            warnAllocWindowStart = now
            warnAllocCount = 0
            warnAllocSuppressed = 0
        }
        warnAllocCount += 1
        if warnAllocCount > burst {
            warnAllocSuppressed += 1
            return
        }
        var lines: [String]
        if config.era == .v2_6, let r = what.range(of: "page allocation failure: ") {
            // 2.6.18 __alloc_pages(): "%s: page allocation failure. order:%d, mode:0x%x".
            lines = ["\(contexts.currentComm): page allocation failure. \(what[r.upperBound...]), mode:0x\(String(GFPLegacy.value(gfp), radix: 16))"]
        } else {
            // 6.x warn_alloc(): "%s: %pV, mode:%#x(%pGg), nodemask=%*pbl" + cpuset_print_current_mems_allowed().
            lines = ["\(contexts.currentComm): \(what), mode:\(gfp.mode), nodemask=(null),cpuset=/,mems_allowed=0"]
        }
        lines += dumpStackLines(kernelFrames: ["warn_alloc+0x13a/0x1b0", "__alloc_pages_slowpath.constprop.0+0xc2b/0xd90",
                                                "__alloc_pages+0x2f6/0x330"])
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

/// Zero-padded lower-case hex without "0x".
func hexPad(_ v: UInt64, _ digits: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
}

/// "0x" + hex.
func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

/// Left-justified in `n` columns (`%-Ns`).
func rpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

/// Right-justified in `n` columns (`%Ns`, `%Nlu`).
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
