/// Interrupt storms: a line raised again and again before the CPU gets back
/// to the task it interrupted (a handler that re-raises its own line, two
/// handlers raising each other's).
///
/// The kernel never nests a line inside its own handler: the line stays
/// pending and runs after the handler returns (see `deliverPendingIrqs`). A
/// storm of IRQ_NONE answers ends in note_interrupt()'s "nobody cared" and
/// the line is disabled (kernel/irq/spurious.c, 99,900 unhandled of
/// 100,000). A storm of IRQ_HANDLED answers never ends by itself in the
/// kernel: the task below never runs again, and the watchdog says so
/// (kernel/watchdog.c). kmlab stops the storm at that point, as it stops a
/// CPU spinning for ever on a lock, and the simulated task ends.

extension ExecutionState {
    /// The storm is over: the CPU got back to the interrupted task.
    func endIrqStorms() {
        for irq in stormingLines {
            irqDescs[irq]?.backToBack = 0
            irqDescs[irq]?.retriggeredWhileInProgress = false
        }
        stormingLines.removeAll()
    }
}

extension Machine {
    /// Counts one more delivery of `desc` in the current storm; past
    /// `irqStormLimit` the watchdog reports the lockup and the task ends
    /// (throws `KernelOops`). The limit lies beyond two note_interrupt()
    /// windows (2 × 100,000), so a storm of unhandled interrupts is always
    /// stopped by "nobody cared" first, as in the kernel.
    func noteBackToBack(_ desc: IrqDesc) throws {
        let cs = contexts
        desc.backToBack += 1
        if desc.backToBack == 1 { cs.stormingLines.append(desc.irq) }
        guard desc.backToBack > cs.irqStormLimit else { return }
        // An edge line re-raised while its handler runs is re-run by
        // handle_edge_irq()'s loop (kernel/irq/chip.c) with interrupts off:
        // the timer never fires, and the NMI watchdog sees a hard lockup.
        // Otherwise the CPU takes the timer interrupt between two storm
        // interrupts and the soft lockup detector (watchdog_timer_fn) sees
        // the watchdog's stopper work starved for 2 × watchdog_thresh.
        let hard = desc.flow == "edge" && desc.retriggeredWhileInProgress
        let headline: String
        if hard {
            advanceClock(nanoseconds: 10_000_000_000)
            headline = "watchdog: Watchdog detected hard LOCKUP on cpu 0"
        } else {
            advanceClock(nanoseconds: 22_000_000_000)
            headline = "watchdog: BUG: soft lockup - CPU#\(cs.cpu) stuck for 22s! [\(cs.currentComm):\(cs.currentPid)]"
            cs.addTaint(.softlockup)
        }
        var lines = [headline]
        lines.append("irq \(desc.irq) (\(desc.actions.map(\.name).joined(separator: ", "))) was raised \(desc.backToBack) times in a row without the interrupted task running")
        lines += dumpStackLines(kernelFrames: ["__handle_irq_event_percpu", "handle_irq_event",
                                               desc.flow == "edge" ? "handle_edge_irq" : "handle_fasteoi_irq",
                                               "__common_interrupt", "common_interrupt"])
        var report = KernelReport(kind: .lockup, severity: .oops, lines: lines, context: cs.contextName,
                                  fields: contextFields(["irq": String(desc.irq), "lockup": hard ? "hard" : "soft",
                                                         "interrupts": String(desc.backToBack)]))
        report.headline = headline
        // The storm is over for the simulation: the task it starved ends.
        cs.pendingIrqs.removeAll { cs.irqDescs[$0]?.backToBack ?? 0 > 0 }
        cs.endIrqStorms()
        raise(report)
        throw KernelOops(report: report)
    }
}
