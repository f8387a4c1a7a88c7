import KernelSim

/// The prompt, which says when the CPU is atomic: a spinlock left held, irqs
/// left off or a handler still running makes every later line run where it
/// may not sleep, and a learner who forgot the `spin_unlock` would otherwise
/// only find out from the next "sleeping function called" report.
enum ReplPrompt {
    static let plain = "> "
    static let continuation = ">> "

    /// `> `, or `kmlab[spin_lock held]> ` / `kmlab[in hardirq, irqs off]> `.
    static func prompt(for contexts: ExecutionState) -> String {
        let states = atomicStates(contexts)
        return states.isEmpty ? plain : "kmlab[" + states.joined(separator: ", ") + "]> "
    }

    /// What keeps the CPU from sleeping, most specific first.
    static func atomicStates(_ contexts: ExecutionState) -> [String] {
        var states: [String] = []
        if contexts.inNMI { states.append("in NMI") }
        else if contexts.inHardirq { states.append("in hardirq") }
        else if contexts.inServingSoftirq { states.append("in softirq") }
        let spins = contexts.heldLocks.filter { $0.lock is SpinLock }
        if spins.count == 1, let only = spins.first {
            states.append("spin_lock held: \(shortName(only.lock.name))")
        } else if spins.count > 1 {
            states.append("\(spins.count) spin_locks held")
        }
        if contexts.irqsDisabled { states.append("irqs off") }
        // preempt_disable() or local_bh_disable() with nothing above to explain it.
        if states.isEmpty && !contexts.canSleep { states.append("atomic") }
        return states
    }

    /// Lock class names can be long (`&dev->lock` or a file:line key); the
    /// prompt keeps the first 24 characters.
    private static func shortName(_ name: String) -> String {
        name.count <= 24 ? name : String(name.prefix(23)) + "…"
    }
}
