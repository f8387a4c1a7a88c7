/// Lock classes, held locks and lockdep's reports (kernel/locking/lockdep.c),
/// the validator a debug kernel (CONFIG_PROVE_LOCKING) runs on every lock
/// operation. Its reports come before spinlock_debug.c's or mutex-debug.c's
/// own checks, and, like them, it reports once and then turns itself off
/// (`debug_locks_off()`): later lock bugs pass silently, as in the kernel.

/// A lockdep usage bit (kernel/locking/lockdep_states.h, write side).
enum LockUsage: Int, CaseIterable {
    case usedInHardirq, enabledHardirq, usedInSoftirq, enabledSoftirq

    /// `usage_str[]`.
    var name: String {
        switch self {
        case .usedInHardirq: return "IN-HARDIRQ-W"
        case .enabledHardirq: return "HARDIRQ-ON-W"
        case .usedInSoftirq: return "IN-SOFTIRQ-W"
        case .enabledSoftirq: return "SOFTIRQ-ON-W"
        }
    }

    /// The bit that must not also be set (mark_lock_irq's exclusive bit).
    var exclusive: LockUsage {
        switch self {
        case .usedInHardirq: return .enabledHardirq
        case .enabledHardirq: return .usedInHardirq
        case .usedInSoftirq: return .enabledSoftirq
        case .enabledSoftirq: return .usedInSoftirq
        }
    }
}

/// A lockdep class: every lock initialised at one site shares it.
public final class LockClass {
    /// The class name as lockdep prints it (`&dev->lock`, `&lock#2`).
    public let name: String
    /// `{outer:inner}` wait type: 2 (LD_WAIT_SPIN) for spinlock_t, 3
    /// (LD_WAIT_SLEEP) for a mutex, as 6.12 without PROVE_RAW_LOCK_NESTING.
    let waitType: Int
    var usage: Set<LockUsage> = []
    var usageTraces: [LockUsage: [String]] = [:]

    init(name: String, waitType: Int) {
        self.name = name
        self.waitType = waitType
    }

    /// `get_usage_chars()`: hardirq, hardirq-read, softirq, softirq-read.
    var usageChars: String {
        func char(_ usedIn: LockUsage, _ enabled: LockUsage) -> Character {
            switch (usage.contains(usedIn), usage.contains(enabled)) {
            case (true, true): return "?"
            case (true, false): return "-"
            case (false, true): return "+"
            case (false, false): return "."
            }
        }
        return String([char(.usedInHardirq, .enabledHardirq), ".", char(.usedInSoftirq, .enabledSoftirq), "."])
    }
}

/// A spinlock or a mutex.
public class KernelLock {
    public let lockClass: LockClass
    /// Where the lock lives (printed with `%px` in lockdep's lines).
    public let address: UInt64
    /// The task holding it, if any.
    public internal(set) var owner: Task?

    init(lockClass: LockClass, address: UInt64) {
        self.lockClass = lockClass
        self.address = address
    }

    public var name: String { lockClass.name }
    public var isLocked: Bool { owner != nil }
}

/// `spinlock_t`.
public final class SpinLock: KernelLock {}

/// `struct mutex`.
public final class KernelMutex: KernelLock {}

/// One entry of a task's `held_locks`.
public struct HeldLock {
    public let lock: KernelLock
    /// `acquire_ip`: where it was taken (the Lua caller, as `%pS`).
    public let site: String
    /// Whether hardirqs were off when it was taken.
    public let hardirqsOff: Bool
}

extension ExecutionState {
    /// A new lock class. `key` groups locks initialised at one site (lockdep's
    /// `lock_class_key`); nil gives the lock a class of its own. Names shared
    /// by several classes get `#2`, `#3`... as lockdep's `name_version`.
    func lockClass(name: String, key: String?, waitType: Int) -> LockClass {
        let k: String
        if let key { k = "\(waitType):\(key)" } else {
            nextAnonymousClass += 1
            k = "anon:\(nextAnonymousClass)"
        }
        if let c = lockClasses[k] { return c }
        let version = (lockNameVersions[name] ?? 0) + 1
        lockNameVersions[name] = version
        let c = LockClass(name: version > 1 ? "\(name)#\(version)" : name, waitType: waitType)
        lockClasses[k] = c
        return c
    }

    /// Lock objects get addresses in the module data area (x86_64: above
    /// MODULES_VADDR; x86_32: the module part of the vmalloc area).
    func nextLockObjectAddress(size: UInt64) -> UInt64 {
        let base: UInt64 = pointerBits == 64 ? 0xffff_ffff_c0a0_1000 : 0xf8a0_1000
        let a = base + nextLockAddress
        nextLockAddress += (size + 63) & ~63
        return a
    }

    /// `print_lock()`: `ADDR (name){usage}-{w:w}, at: SITE`.
    func lockLine(_ lock: KernelLock, site: String) -> String {
        let c = lock.lockClass
        return "\(px(lock.address)) (\(c.name)){\(c.usageChars)}-{\(c.waitType):\(c.waitType)}, at: \(site)"
    }

    /// `lockdep_print_held_locks()`.
    func heldLocksLines(_ task: Task) -> [String] {
        let held = task.heldLocks
        if held.isEmpty { return ["no locks held by \(task.comm)/\(task.pid)."] }
        var lines = ["\(held.count) lock\(held.count > 1 ? "s" : "") held by \(task.comm)/\(task.pid):"]
        for (i, h) in held.enumerated() {
            lines.append(" #\(i): " + lockLine(h.lock, site: h.site))
        }
        return lines
    }

    /// `debug_show_held_locks()`: the held locks, or that lockdep is off.
    func showHeldLocksLines(_ task: Task) -> [String] {
        debugLocks ? heldLocksLines(task) : ["INFO: lockdep is turned off."]
    }

    /// `debug_locks_off()`: true the first time (the caller reports).
    func debugLocksOff() -> Bool {
        guard debugLocks else { return false }
        debugLocks = false
        return true
    }
}

extension Machine {
    /// lockdep's part of acquiring `lock` at `site`: usage bits (inconsistent
    /// lock state) and recursion (possible recursive locking). Returns the
    /// report it raised, if any.
    @discardableResult
    func lockdepAcquire(_ lock: KernelLock, site: String, trylock: Bool = false) -> KernelReport? {
        let cs = contexts
        guard cs.debugLocks else { return nil }
        let cls = lock.lockClass
        var bits: [LockUsage] = []
        if cs.inHardirq { bits.append(.usedInHardirq) }
        if cs.inServingSoftirq { bits.append(.usedInSoftirq) }
        if !cs.irqsDisabled {
            bits.append(.enabledHardirq)
            if !cs.inSoftirq { bits.append(.enabledSoftirq) }
        }
        for bit in bits where !cls.usage.contains(bit) {
            // mark_lock(): the bit is set (and its trace saved) before
            // mark_lock_irq() checks the exclusive bit.
            cls.usage.insert(bit)
            cls.usageTraces[bit] = callTrace()
            if cls.usage.contains(bit.exclusive), cs.debugLocksOff() {
                let r = inconsistentLockStateReport(lock, site: site, previous: bit.exclusive, new: bit)
                raise(r)
                return r
            }
        }
        // validate_chain(): a trylock cannot deadlock, so it is not checked.
        if !trylock, let held = cs.current.heldLocks.first(where: { $0.lock.lockClass === cls }), cs.debugLocksOff() {
            let r = recursiveLockingReport(lock, site: site, held: held)
            raise(r)
            return r
        }
        return nil
    }

    /// lockdep's part of releasing: removes the lock from the current task's
    /// held locks, or reports the bad unlock balance. Returns whether the
    /// lock was held by the current task.
    @discardableResult
    func lockdepRelease(_ lock: KernelLock, site: String) -> Bool {
        let cs = contexts
        if let i = cs.current.heldLocks.lastIndex(where: { $0.lock === lock }) {
            cs.current.heldLocks.remove(at: i)
            return true
        }
        if cs.debugLocksOff() {
            raise(unlockImbalanceReport(lock, site: site))
        }
        return false
    }

    private func lockdepHeader(_ title: String) -> [String] {
        let rule = String(repeating: "=", count: title.count)
        let dash = String(repeating: "-", count: title.count)
        return ["", rule, title, contexts.kernelIdent, dash]
    }

    private func finish(_ lines: [String], kind: KernelReport.Kind, headline: String,
                        lock: KernelLock, severity: KernelReport.Severity = .warning,
                        extra: [String: String] = [:]) -> KernelReport {
        var fields = contextFields(["lock": lock.name, "lock_address": contexts.px(lock.address)])
        for (k, v) in extra { fields[k] = v }
        var r = KernelReport(kind: kind, severity: severity, lines: lines, address: lock.address,
                             context: contexts.contextName, fields: fields)
        r.headline = headline
        return r
    }

    /// `print_deadlock_bug()`: WARNING: possible recursive locking detected.
    func recursiveLockingReport(_ lock: KernelLock, site: String, held: HeldLock) -> KernelReport {
        let cs = contexts
        let title = "WARNING: possible recursive locking detected"
        var lines = lockdepHeader(title)
        lines.append("\(cs.currentComm)/\(cs.currentPid) is trying to acquire lock:")
        lines.append(cs.lockLine(lock, site: site))
        lines.append("")
        lines.append("but task is already holding lock:")
        lines.append(cs.lockLine(held.lock, site: held.site))
        lines.append("")
        lines.append("other info that might help us debug this:")
        lines += [" Possible unsafe locking scenario:", "", "       CPU0", "       ----",
                  "  lock(\(held.lock.name));", "  lock(\(lock.name));", "", " *** DEADLOCK ***", "",
                  " May be due to missing lock nesting notation", ""]
        lines += cs.heldLocksLines(cs.current)
        lines.append("")
        lines.append("stack backtrace:")
        lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "print_deadlock_bug", "__lock_acquire", "lock_acquire"])
        return finish(lines, kind: .lockRecursion, headline: title, lock: lock,
                      extra: ["held_lock": held.lock.name, "held_at": held.site])
    }

    /// `print_unlock_imbalance_bug()`: WARNING: bad unlock balance detected!
    func unlockImbalanceReport(_ lock: KernelLock, site: String) -> KernelReport {
        let cs = contexts
        let title = "WARNING: bad unlock balance detected!"
        var lines = lockdepHeader(title)
        lines.append("\(cs.currentComm)/\(cs.currentPid) is trying to release lock (\(lock.name)) at:")
        lines.append(site)
        lines.append("but there are no more locks to release!")
        lines.append("")
        lines.append("other info that might help us debug this:")
        lines += cs.heldLocksLines(cs.current)
        lines.append("")
        lines.append("stack backtrace:")
        lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "print_unlock_imbalance_bug", "lock_release"])
        var extra: [String: String] = [:]
        if let owner = lock.owner { extra["owner"] = "\(owner.comm)/\(owner.pid)" }
        return finish(lines, kind: .badUnlock, headline: title, lock: lock, extra: extra)
    }

    /// `print_usage_bug()`: WARNING: inconsistent lock state, the lock taken
    /// in interrupt context and also with that interrupt enabled.
    func inconsistentLockStateReport(_ lock: KernelLock, site: String, previous: LockUsage,
                                     new: LockUsage) -> KernelReport {
        let cs = contexts
        let title = "WARNING: inconsistent lock state"
        var lines = lockdepHeader(title)
        lines.append("inconsistent {\(previous.name)} -> {\(new.name)} usage.")
        let pc = cs.preemptCount
        let hc = Preempt.inHardirq(pc) ? 1 : 0
        let sc = Preempt.inServingSoftirq(pc) ? 1 : 0
        let he = cs.irqsDisabled ? 0 : 1
        let se = Preempt.inSoftirq(pc) ? 0 : 1
        lines.append("\(cs.currentComm)/\(cs.currentPid) [HC\(hc)[\((pc & Preempt.hardirqMask) >> Preempt.hardirqShift)]:SC\(sc)[\((pc & Preempt.softirqMask) >> Preempt.softirqShift)]:HE\(he):SE\(se)] takes:")
        lines.append(cs.lockLine(lock, site: site))
        lines.append("{\(previous.name)} state was registered at:")
        let trace = lock.lockClass.usageTraces[previous] ?? []
        lines += trace.map { "  " + $0.drop { $0 == " " } }
        lines.append("")
        lines.append("other info that might help us debug this:")
        lines += [" Possible unsafe locking scenario:", "", "       CPU0", "       ----",
                  "  lock(\(lock.name));", "  <Interrupt>", "    lock(\(lock.name));", "",
                  " *** DEADLOCK ***", ""]
        lines += cs.heldLocksLines(cs.current)
        lines.append("")
        lines.append("stack backtrace:")
        lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "print_usage_bug", "mark_lock", "__lock_acquire", "lock_acquire"])
        return finish(lines, kind: .inconsistentLockState, headline: title, lock: lock,
                      extra: ["previous_usage": previous.name, "new_usage": new.name])
    }
}
