/// Interrupt lines: `request_irq`/`free_irq` (kernel/irq/manage.c), the
/// hardware raising a line, the handler run in hardirq context
/// (kernel/irq/handle.c, kernel/irq/spurious.c), and /proc/interrupts
/// (kernel/irq/proc.c show_interrupts, arch/x86/kernel/irq.c).

/// What a handler returns (include/linux/irqreturn.h). Any other value is
/// "bogus" and the kernel says so.
public struct IrqReturn: RawRepresentable, Equatable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let none = IrqReturn(rawValue: 0)         // IRQ_NONE
    public static let handled = IrqReturn(rawValue: 1)      // IRQ_HANDLED
    public static let wakeThread = IrqReturn(rawValue: 2)   // IRQ_WAKE_THREAD
    /// `bad_action_ret()`: anything above IRQ_HANDLED | IRQ_WAKE_THREAD.
    public var isBogus: Bool { rawValue < 0 || rawValue > 3 }
    public var description: String {
        switch rawValue {
        case 0: return "IRQ_NONE"
        case 1: return "IRQ_HANDLED"
        case 2: return "IRQ_WAKE_THREAD"
        default: return String(rawValue)
        }
    }
}

/// A primary handler. KernelSim knows nothing of what runs inside: the glue
/// wraps a Lua function (capturing irq and dev_id) in one.
public typealias IrqHandler = () throws -> IrqReturn

/// `IRQF_*` from include/linux/interrupt.h.
public enum IRQF {
    public static let triggerNone: UInt64 = 0x00000000
    public static let triggerRising: UInt64 = 0x00000001
    public static let triggerFalling: UInt64 = 0x00000002
    public static let triggerHigh: UInt64 = 0x00000004
    public static let triggerLow: UInt64 = 0x00000008
    public static let triggerMask: UInt64 = 0x0000000f
    public static let triggerProbe: UInt64 = 0x00000010
    public static let shared: UInt64 = 0x00000080
    public static let probeShared: UInt64 = 0x00000100
    public static let timerBit: UInt64 = 0x00000200       // __IRQF_TIMER
    public static let percpu: UInt64 = 0x00000400
    public static let noBalancing: UInt64 = 0x00000800
    public static let irqpoll: UInt64 = 0x00001000
    public static let oneshot: UInt64 = 0x00002000
    public static let noSuspend: UInt64 = 0x00004000
    public static let forceResume: UInt64 = 0x00008000
    public static let noThread: UInt64 = 0x00010000
    public static let earlyResume: UInt64 = 0x00020000
    public static let condSuspend: UInt64 = 0x00040000
    public static let noAutoen: UInt64 = 0x00080000
    public static let noDebug: UInt64 = 0x00100000
    /// IRQF_TIMER = __IRQF_TIMER | IRQF_NO_SUSPEND | IRQF_NO_THREAD.
    public static let timer: UInt64 = timerBit | noSuspend | noThread

    /// Every flag by its C name (for the glue's constants).
    public static let all: [(String, UInt64)] = [
        ("IRQF_TRIGGER_NONE", triggerNone), ("IRQF_TRIGGER_RISING", triggerRising),
        ("IRQF_TRIGGER_FALLING", triggerFalling), ("IRQF_TRIGGER_HIGH", triggerHigh),
        ("IRQF_TRIGGER_LOW", triggerLow), ("IRQF_TRIGGER_MASK", triggerMask),
        ("IRQF_TRIGGER_PROBE", triggerProbe), ("IRQF_SHARED", shared),
        ("IRQF_PROBE_SHARED", probeShared), ("__IRQF_TIMER", timerBit), ("IRQF_PERCPU", percpu),
        ("IRQF_NOBALANCING", noBalancing), ("IRQF_IRQPOLL", irqpoll), ("IRQF_ONESHOT", oneshot),
        ("IRQF_NO_SUSPEND", noSuspend), ("IRQF_FORCE_RESUME", forceResume),
        ("IRQF_NO_THREAD", noThread), ("IRQF_EARLY_RESUME", earlyResume),
        ("IRQF_COND_SUSPEND", condSuspend), ("IRQF_NO_AUTOEN", noAutoen),
        ("IRQF_NO_DEBUG", noDebug), ("IRQF_TIMER", timer),
    ]
}

/// One `struct irqaction`: a handler on a line.
final class IrqAction {
    let handler: IrqHandler
    let flags: UInt64
    let name: String
    let devId: AnyHashable?
    var warnedNoThread = false
    init(handler: @escaping IrqHandler, flags: UInt64, name: String, devId: AnyHashable?) {
        self.handler = handler
        self.flags = flags
        self.name = name
        self.devId = devId
    }
}

/// One `struct irq_desc`.
final class IrqDesc {
    let irq: Int
    let chip: String
    let hwirq: Int
    /// The flow handler's name: "edge" (handle_edge_irq) or "fasteoi".
    let flow: String
    var actions: [IrqAction] = []
    /// kstat_irqs of CPU#0.
    var count: UInt64 = 0
    /// For spurious detection (note_interrupt): irqs seen and unhandled.
    var irqCount = 0
    var unhandled = 0
    var inProgress = false
    var disabledBySpurious = false
    /// Deliveries since the CPU last got back to the interrupted task (an
    /// interrupt storm's length, see `noteBackToBack`).
    var backToBack = 0
    /// The line was raised again while its own handler ran (the edge flow
    /// handler would loop on it with interrupts off).
    var retriggeredWhileInProgress = false
    init(irq: Int, chip: String, hwirq: Int, flow: String) {
        self.irq = irq
        self.chip = chip
        self.hwirq = hwirq
        self.flow = flow
    }
}

/// What happened to a raised line.
public enum IrqDelivery: Equatable, Sendable {
    /// The handler(s) ran (and everything that followed: pending lines, softirqs).
    case delivered
    /// Interrupts were off, or the line's handler was running: it will be
    /// delivered when they come back on.
    case pending
    /// Nobody has requested the line (or it was disabled as spurious).
    case unhandled
}

extension ExecutionState {
    /// The lines a PC-style machine has in use before any module loads.
    func installLegacyInterrupts() {
        func system(_ irq: Int, hw: Int, flow: String, name: String, flags: UInt64, count: UInt64) {
            let d = IrqDesc(irq: irq, chip: "IO-APIC", hwirq: hw, flow: flow)
            irqDescs[irq] = d
            d.actions.append(IrqAction(handler: { .handled }, flags: flags, name: name, devId: nil))
            d.count = count
        }
        system(0, hw: 2, flow: "edge", name: "timer", flags: IRQF.timer, count: 47)
        system(1, hw: 1, flow: "edge", name: "i8042", flags: 0, count: 9)
        system(8, hw: 8, flow: "edge", name: "rtc0", flags: 0, count: 1)
        system(9, hw: 9, flow: "fasteoi", name: "acpi", flags: IRQF.shared, count: 0)
    }

    /// The descriptor of a line, created on first use: legacy ISA lines
    /// (0-15) are edge-triggered, PCI lines above are level (fasteoi); all on
    /// the IO-APIC, whose pin is the irq number except the timer's (pin 2).
    func descriptor(_ irq: Int) -> IrqDesc {
        if let d = irqDescs[irq] { return d }
        let d = IrqDesc(irq: irq, chip: "IO-APIC", hwirq: irq == 0 ? 2 : irq, flow: irq < 16 ? "edge" : "fasteoi")
        irqDescs[irq] = d
        return d
    }

    /// The names of the handlers on a line, in request order.
    public func irqActionNames(_ irq: Int) -> [String] { irqDescs[irq]?.actions.map(\.name) ?? [] }

    /// How many times a line has fired on CPU#0.
    public func irqCount(_ irq: Int) -> UInt64 { irqDescs[irq]?.count ?? 0 }

    /// Lines raised while interrupts were off, waiting.
    public var pendingInterrupts: [Int] { pendingIrqs }
}

extension Machine {
    /// `request_irq(irq, handler, flags, name, dev_id)`: 0, or -EINVAL for
    /// bad arguments (no such line, a shared line without dev_id, no
    /// handler), -EBUSY when the line is taken and the two requests do not
    /// both say IRQF_SHARED (with the kernel's "genirq: Flags mismatch" line).
    /// It may sleep (it allocates with GFP_KERNEL and takes a mutex).
    public func requestIrq(_ irq: Int, handler: IrqHandler?, flags: UInt64, name: String,
                           devId: AnyHashable?) -> Int {
        // request_threaded_irq(): argument checks come first.
        if (flags & IRQF.shared != 0 && devId == nil)
            || (flags & IRQF.shared != 0 && flags & IRQF.noAutoen != 0)
            || (flags & IRQF.shared == 0 && flags & IRQF.condSuspend != 0) {
            return Errno.EINVAL.negated
        }
        guard irq >= 0, irq < contexts.nrIrqs else { return Errno.EINVAL.negated }
        guard let handler else { return Errno.EINVAL.negated }
        // kzalloc(sizeof(struct irqaction), GFP_KERNEL) in request_threaded_irq
        mightSleep(file: "include/linux/sched/mm.h", line: 337, function: "request_threaded_irq")
        let desc = contexts.descriptor(irq)
        if let old = desc.actions.first {
            // __setup_irq(): both must agree to share, on trigger type, ONESHOT, PERCPU.
            let mismatch = (old.flags & flags & IRQF.shared) == 0
                || (old.flags & IRQF.triggerMask) != (flags & IRQF.triggerMask)
                || (old.flags ^ flags) & IRQF.oneshot != 0
                || (old.flags & IRQF.percpu) != (flags & IRQF.percpu)
            if mismatch {
                if flags & IRQF.probeShared == 0 {
                    printk("genirq: Flags mismatch irq \(irq). \(hex8(flags)) (\(name)) vs. \(hex8(old.flags)) (\(old.name))")
                }
                return Errno.EBUSY.negated
            }
        }
        desc.actions.append(IrqAction(handler: handler, flags: flags, name: name, devId: devId))
        desc.irqCount = 0
        desc.unhandled = 0
        if desc.actions.count == 1 { desc.disabledBySpurious = false }
        return 0
    }

    /// `free_irq(irq, dev_id)`: removes the handler registered with `devId`
    /// and returns its name (the `devname` free_irq returns), or nil with the
    /// kernel's WARN when there is none. Freeing from interrupt context is a
    /// WARN too; free_irq may sleep.
    @discardableResult
    public func freeIrq(_ irq: Int, devId: AnyHashable?) -> String? {
        guard irq >= 0, irq < contexts.nrIrqs else { return nil }
        if contexts.inInterrupt {
            raise(warnReport(message: "Trying to free IRQ \(irq) from IRQ context!",
                             file: "kernel/irq/manage.c", line: 1838, function: "__free_irq",
                             fields: ["irq": String(irq)]))
        }
        // mutex_lock(&desc->request_mutex)
        mightSleep(file: "kernel/locking/mutex.c", line: 585, function: "__free_irq")
        let desc = contexts.descriptor(irq)
        guard let i = desc.actions.firstIndex(where: { $0.devId == devId }) else {
            raise(warnReport(message: "Trying to free already-free IRQ \(irq)",
                             file: "kernel/irq/manage.c", line: 1868, function: "__free_irq",
                             fields: ["irq": String(irq)]))
            return nil
        }
        let action = desc.actions.remove(at: i)
        contexts.pendingIrqs.removeAll { $0 == irq && desc.actions.isEmpty }
        return action.name
    }

    /// The hardware asserts a line. With interrupts on (and the line's
    /// handler not already running) the CPU takes the interrupt now: the
    /// handlers run in hardirq context with interrupts off; on irq exit,
    /// lines that arrived meanwhile are delivered and tasklets run in softirq
    /// context. Otherwise the line waits (one pending latch per line) until
    /// interrupts come back on. Throws `ContextError` for a line that does
    /// not exist, and whatever a handler throws (the contexts unwind first).
    @discardableResult
    public func raiseIrq(_ irq: Int) throws -> IrqDelivery {
        guard irq >= 0, irq < contexts.nrIrqs else {
            throw ContextError("there is no interrupt line \(irq) (lines are 0..\(contexts.nrIrqs - 1))")
        }
        let desc = contexts.descriptor(irq)
        if contexts.irqsDisabled || desc.inProgress || isRetired {
            if desc.inProgress { desc.retriggeredWhileInProgress = true }
            if !contexts.pendingIrqs.contains(irq) { contexts.pendingIrqs.append(irq) }
            return .pending
        }
        return try deliverIrq(irq)
    }

    /// Delivers lines that arrived while interrupts were off, oldest first,
    /// for as long as interrupts stay on.
    ///
    /// Iterative, never recursive: a handler that raises its own line (or
    /// two handlers raising each other's) leaves the line pending, and the
    /// loop already delivering at this nesting depth picks it up once the
    /// handler has returned, as kernel/irq/chip.c `handle_edge_irq` re-runs a
    /// line marked IRQS_PENDING from its `do { } while` loop. The exit path of
    /// a delivery (irq_exit) calls back here at the depth of that loop and
    /// returns at once, so the host stack stays flat however long the storm.
    func deliverPendingIrqs() throws {
        let cs = contexts
        let depth = cs.frames.count
        if cs.irqDeliveryDepths.contains(depth) { return }
        cs.irqDeliveryDepths.append(depth)
        defer {
            cs.irqDeliveryDepths.removeLast()
            if cs.irqDeliveryDepths.isEmpty { cs.endIrqStorms() }
        }
        while !cs.irqsDisabled && !isRetired {
            guard let i = cs.pendingIrqs.firstIndex(where: { !(cs.irqDescs[$0]?.inProgress ?? false) }) else { return }
            let irq = cs.pendingIrqs.remove(at: i)
            try deliverIrq(irq)
        }
    }

    /// One interrupt: common_interrupt → irq_enter → the flow handler →
    /// irq_exit (softirqs) → back to the interrupted context.
    @discardableResult
    func deliverIrq(_ irq: Int) throws -> IrqDelivery {
        let cs = contexts
        let desc = cs.descriptor(irq)
        // handle_*_irq(): kstat_incr_irqs_this_cpu() comes before the action check.
        desc.count += 1
        if desc.actions.isEmpty || desc.disabledBySpurious {
            cs.spuriousInterrupts += 1
            return .unhandled
        }
        try noteBackToBack(desc)
        try enterFrame(.hardirq(irq), addPreempt: Preempt.hardirqOffset, disableIrqs: true,
                       entryFrames: ["__handle_irq_event_percpu", "handle_irq_event",
                                     desc.flow == "edge" ? "handle_edge_irq" : "handle_fasteoi_irq",
                                     "__common_interrupt", "common_interrupt"],
                       onIrqStack: true, endsStack: false, resumeFrames: ["asm_common_interrupt"])
        desc.inProgress = true
        var retval = 0
        do {
            for action in desc.actions {
                // boot{} from a handler replaced this machine: nothing of it runs on.
                if isRetired { break }
                let r = try action.handler()
                // __handle_irq_event_percpu()
                if !cs.irqsDisabled {
                    warnOnce(site: "irq-enabled-interrupts:\(irq)",
                             message: "irq \(irq) handler \(action.name) enabled interrupts",
                             file: "kernel/irq/handle.c", line: 160, function: "__handle_irq_event_percpu")
                    cs.irqsDisabled = true
                }
                if r == .wakeThread && !action.warnedNoThread {
                    action.warnedNoThread = true
                    printk("IRQ \(irq) device \(action.name) returned IRQ_WAKE_THREAD but no thread function available.")
                }
                retval |= r.rawValue
                if r.isBogus { retval = r.rawValue; noteBogusReturn(desc, r) }
            }
            noteInterrupt(desc, IrqReturn(rawValue: retval))
        } catch {
            desc.inProgress = false
            interruptDied(error)
            abandonFrame()
            throw error
        }
        desc.inProgress = false
        exitFrame(removePreempt: Preempt.hardirqOffset)
        if isRetired { return .delivered }
        // irq_exit(): softirqs run if we did not interrupt interrupt context.
        if !cs.inInterrupt && !cs.taskletQueue.isEmpty {
            try runSoftirqs(onIrqExit: true)
        } else {
            try deliverPendingIrqs()
        }
        return .delivered
    }

    /// An Oops escaping an interrupt handler: oops_end() panics
    /// ("Fatal exception in interrupt", arch/x86/kernel/dumpstack.c).
    func interruptDied(_ error: Error) {
        guard let oops = error as? KernelOops, oops.report.kind != .lockup, oops.report.kind != .hungTask,
              contexts.panicMessage == nil else { return }
        let msg = "Fatal exception in interrupt"
        contexts.panicMessage = msg
        printk("Kernel panic - not syncing: \(msg)")
        printk("---[ end Kernel panic - not syncing: \(msg) ]---")
    }

    /// `report_bad_irq()` (kernel/irq/spurious.c) for a bogus return value:
    /// at most 100 times.
    private func noteBogusReturn(_ desc: IrqDesc, _ r: IrqReturn) {
        guard contexts.badIrqReportsLeft > 0 else { return }
        contexts.badIrqReportsLeft -= 1
        let headline = "irq event \(desc.irq): bogus return value \(String(UInt32(truncatingIfNeeded: r.rawValue), radix: 16))"
        var lines = [headline]
        lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "__report_bad_irq", "note_interrupt"])
        lines.append("handlers:")
        lines += desc.actions.map { "[<\(contexts.px(0))>] \($0.name)" }
        var report = KernelReport(kind: .badIrqReturn, severity: .warning, lines: lines,
                                  context: contexts.contextName,
                                  fields: contextFields(["irq": String(desc.irq), "return": String(r.rawValue)]))
        report.headline = headline
        raise(report)
    }

    /// `note_interrupt()`: a line whose handlers keep answering IRQ_NONE
    /// (99,900 of 100,000) is reported ("nobody cared") and disabled.
    private func noteInterrupt(_ desc: IrqDesc, _ r: IrqReturn) {
        desc.irqCount += 1
        if r == .none { desc.unhandled += 1 }
        guard desc.irqCount >= 100_000 else { return }
        if desc.unhandled > 99_900 {
            let headline = "irq \(desc.irq): nobody cared (try booting with the \"irqpoll\" option)"
            var lines = [headline]
            lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "__report_bad_irq", "note_interrupt"])
            lines.append("handlers:")
            lines += desc.actions.map { "[<\(contexts.px(0))>] \($0.name)" }
            lines.append("Disabling IRQ #\(desc.irq)")
            var report = KernelReport(kind: .badIrqReturn, severity: .warning, lines: lines,
                                      context: contexts.contextName,
                                      fields: contextFields(["irq": String(desc.irq), "return": "0"]))
            report.headline = headline
            raise(report)
            desc.disabledBySpurious = true
        }
        desc.irqCount = 0
        desc.unhandled = 0
    }

    private func hex8(_ v: UInt64) -> String {
        let h = String(v & 0xffff_ffff, radix: 16)
        return String(repeating: "0", count: max(0, 8 - h.count)) + h
    }

    /// /proc/interrupts as kernel/irq/proc.c `show_interrupts` and
    /// arch/x86/kernel/irq.c `arch_show_interrupts` print it: one column per
    /// online CPU. Device interrupts are all delivered to CPU 0; every CPU's
    /// local timer ticks; `CAL:` counts the function-call IPIs each CPU
    /// received (TLB flushes of kernel ranges among them), `TLB:` the
    /// flushes of user address spaces (Cpus.swift, TlbShootdown.swift).
    public func procInterrupts() -> String {
        let cs = contexts
        let ncpus = max(1, cs.onlineCPUs)
        var prec = 3
        var j = 1000
        while prec < 10 && j <= cs.nrIrqs { prec += 1; j *= 10 }
        func right(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func left(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func columns(_ value: (Int) -> UInt64) -> String {
            (0..<ncpus).map { right(String(value($0)), 10) + " " }.joined()
        }
        var out = String(repeating: " ", count: prec + 8)
        for c in 0..<ncpus { out += left("CPU\(c)", 11) }
        out += "\n"
        for irq in cs.irqDescs.keys.sorted() {
            guard let d = cs.irqDescs[irq], !d.actions.isEmpty || d.count > 0 else { continue }
            var line = right(String(irq), prec) + ": " + columns { $0 == 0 ? d.count : 0 }
            line += " " + right(d.chip, 8)
            line += " " + right(String(d.hwirq), prec)
            line += "-" + left(d.flow, 8)
            if !d.actions.isEmpty {
                line += "  " + d.actions.map(\.name).joined(separator: ", ")
            }
            out += line + "\n"
        }
        let ticks = jiffies
        let archRows: [(String, (Int) -> UInt64, String)] = [
            ("NMI", { _ in 0 }, "Non-maskable interrupts"),
            ("LOC", { _ in ticks }, "Local timer interrupts"),
            ("SPU", { $0 == 0 ? UInt64(cs.spuriousInterrupts) : 0 }, "Spurious interrupts"),
            ("PMI", { _ in 0 }, "Performance monitoring interrupts"),
            ("IWI", { _ in 0 }, "IRQ work interrupts"),
            ("RTR", { _ in 0 }, "APIC ICR read retries"),
            ("RES", { _ in 0 }, "Rescheduling interrupts"),
            ("CAL", { cs.cpus.indices.contains($0) ? cs.cpus[$0].callCount : 0 }, "Function call interrupts"),
            ("TLB", { cs.cpus.indices.contains($0) ? cs.cpus[$0].tlbCount : 0 }, "TLB shootdowns"),
            ("TRM", { _ in 0 }, "Thermal event interrupts"),
            ("THR", { _ in 0 }, "Threshold APIC interrupts"),
            ("DFR", { _ in 0 }, "Deferred Error APIC interrupts"),
            ("MCE", { _ in 0 }, "Machine check exceptions"),
            ("MCP", { _ in 0 }, "Machine check polls"),
        ]
        for (name, value, text) in archRows {
            out += right(name, prec) + ": " + columns(value) + "  " + text + "\n"
        }
        out += right("ERR", prec) + ": " + right("0", 10) + "\n"
        out += right("MIS", prec) + ": " + right("0", 10) + "\n"
        return out
    }
}
