/// Entering and leaving contexts: what `irq_enter`/`irq_exit`, the softirq
/// loop, a kworker's `process_one_work` and a syscall entry do to the CPU.
extension Machine {
    /// Pushes a context frame. Throws `ContextError` past `maxContextDepth`
    /// (a bound against recursion through handlers, tasklets and work).
    ///
    /// `cpu` moves the frame to another CPU (an IPI's handler, work_on_cpu):
    /// its TLB becomes the one translations use, and `preemptBase` is that
    /// CPU's own preempt count, to which `addPreempt` adds (the caller's
    /// count stays with the caller's CPU).
    func enterFrame(_ kind: ContextFrame.Kind, task: Task? = nil, addPreempt: UInt32 = 0,
                    disableIrqs: Bool? = nil, entryFrames: [String], onIrqStack: Bool,
                    endsStack: Bool, resumeFrames: [String] = [], cpu: Int? = nil,
                    preemptBase: UInt32 = 0) throws {
        let cs = contexts
        guard cs.frames.count < cs.maxContextDepth else {
            throw ContextError("\(kind): contexts nested too deeply (\(cs.frames.count) levels: "
                               + cs.contextStack.joined(separator: " > ") + ")")
        }
        let depth = callTraceProvider == nil ? 0 : callTrace().count
        cs.frames.append(ContextFrame(kind: kind, savedTask: cs.current,
                                      savedIrqsDisabled: cs.irqsDisabled,
                                      savedPreemptCount: cs.preemptCount,
                                      traceDepth: depth, entryFrames: entryFrames,
                                      onIrqStack: onIrqStack, endsStack: endsStack,
                                      resumeFrames: resumeFrames, savedCPU: cs.cpu))
        if let task { cs.current = task }
        if let cpu, cpu != cs.cpu {
            cs.preemptCount = preemptBase
            switchToCPU(cpu)
        }
        cs.preemptCount &+= addPreempt
        if let d = disableIrqs { cs.irqsDisabled = d }
    }

    /// Pops the innermost frame: the task and interrupt flag come back as
    /// they were; the preempt count loses what entry added (so a spinlock
    /// leaked inside the frame stays counted, as in the kernel).
    func exitFrame(removePreempt: UInt32 = 0) {
        let cs = contexts
        guard let frame = cs.frames.popLast() else { return }
        cs.current = frame.savedTask
        cs.irqsDisabled = frame.savedIrqsDisabled
        if frame.savedCPU != cs.cpu {
            // Back on the caller's CPU, with the caller's count.
            cs.preemptCount = frame.savedPreemptCount
            switchToCPU(frame.savedCPU)
            return
        }
        cs.preemptCount = cs.preemptCount >= removePreempt ? cs.preemptCount - removePreempt : 0
    }

    /// Pops the innermost frame when an error unwinds through it: the frame
    /// is abandoned, so the CPU state is exactly what it was on entry.
    func abandonFrame() {
        let cs = contexts
        guard let frame = cs.frames.popLast() else { return }
        cs.current = frame.savedTask
        cs.irqsDisabled = frame.savedIrqsDisabled
        cs.preemptCount = frame.savedPreemptCount
        if frame.savedCPU != cs.cpu { switchToCPU(frame.savedCPU) }
    }

    /// The innermost script frame (one naming a source, `probe [drv.lua:12]`),
    /// trimmed, as lockdep's `at:` site: the caller of the lock function.
    /// Without one, the innermost frame; without a stack, the kernel function.
    func callSite(fallback: String) -> String {
        let trace = callTrace()
        let frame = trace.first { $0.contains("[") } ?? trace.first
        if let frame {
            let t = frame.drop { $0 == " " }
            if !t.isEmpty { return String(t) }
        }
        return fallback
    }
}
