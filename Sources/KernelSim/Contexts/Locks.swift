/// Spinlocks, mutexes and the local interrupt flag, as a debug kernel runs
/// them (include/linux/spinlock_api_smp.h, kernel/locking/spinlock_debug.c,
/// kernel/locking/mutex.c, with lockdep in front of each).
///
/// On this single CPU a spinlock that is already held can never be released
/// by anyone else while we spin: taking it again is a deadlock. lockdep
/// reports it first (if it is still on), then the watchdog finds the CPU
/// stuck; the simulated task ends there with `KernelOops`.
extension Machine {
    // MARK: spinlocks

    /// `spin_lock_init()`. `name` is lockdep's class name (`&dev->lock`);
    /// `classKey` groups locks initialised at one site (nil: a class of its own).
    public func spinLockInit(name: String? = nil, classKey: String? = nil) -> SpinLock {
        let cls = contexts.lockClass(name: name ?? "&lock", key: classKey, waitType: 2)
        return SpinLock(lockClass: cls, address: contexts.nextLockObjectAddress(size: 64))
    }

    /// `spin_lock()`: preemption off, then the lock.
    public func spinLock(_ lock: SpinLock) throws {
        contexts.preemptCount &+= Preempt.preemptOffset
        try acquireSpin(lock, api: "_raw_spin_lock")
    }

    /// `spin_unlock()`: the lock, then preemption back on.
    public func spinUnlock(_ lock: SpinLock) throws {
        releaseSpin(lock)
        preemptEnable()
    }

    /// `spin_lock_irqsave()`: returns the flags to give back to
    /// `spin_unlock_irqrestore` (0x246 if interrupts were on, 0x46 if off).
    public func spinLockIrqsave(_ lock: SpinLock) throws -> UInt64 {
        let flags = contexts.currentFlags
        contexts.irqsDisabled = true
        contexts.preemptCount &+= Preempt.preemptOffset
        try acquireSpin(lock, api: "_raw_spin_lock_irqsave")
        return flags
    }

    /// `spin_unlock_irqrestore()`: unlock, restore the interrupt flag from
    /// `flags` (IF, bit 9), then preemption. A pending interrupt is delivered
    /// the moment the flag comes back on, before preemption is re-enabled, as
    /// on real hardware.
    public func spinUnlockIrqrestore(_ lock: SpinLock, flags: UInt64) throws {
        releaseSpin(lock)
        try localIrqRestore(flags)
        preemptEnable()
    }

    /// `spin_lock_irq()`: interrupts off unconditionally.
    public func spinLockIrq(_ lock: SpinLock) throws {
        contexts.irqsDisabled = true
        contexts.preemptCount &+= Preempt.preemptOffset
        try acquireSpin(lock, api: "_raw_spin_lock_irq")
    }

    /// `spin_unlock_irq()`: interrupts on unconditionally.
    public func spinUnlockIrq(_ lock: SpinLock) throws {
        releaseSpin(lock)
        try localIrqEnable()
        preemptEnable()
    }

    /// `spin_lock_bh()`: softirqs (tasklets) off on this CPU, then the lock.
    public func spinLockBh(_ lock: SpinLock) throws {
        contexts.preemptCount &+= Preempt.softirqDisableOffset + Preempt.preemptOffset
        try acquireSpin(lock, api: "_raw_spin_lock_bh")
    }

    /// `spin_unlock_bh()`: the lock, then softirqs back on (pending ones run).
    public func spinUnlockBh(_ lock: SpinLock) throws {
        releaseSpin(lock)
        preemptEnable()
        try localBhEnable()
    }

    /// `spin_trylock()`: 1 if taken, 0 if held (no deadlock: it does not spin).
    public func spinTrylock(_ lock: SpinLock) throws -> Int {
        contexts.preemptCount &+= Preempt.preemptOffset
        if lock.owner != nil {
            preemptEnable()
            return 0
        }
        try acquireSpin(lock, api: "_raw_spin_trylock", trylock: true)
        return 1
    }

    private func acquireSpin(_ lock: SpinLock, api: String, trylock: Bool = false) throws {
        let site = callSite(fallback: api)
        let lockdepReport = lockdepAcquire(lock, site: site, trylock: trylock)
        if lock.owner != nil {
            // do_raw_spin_lock(): spinlock_debug.c's "recursion" spin_bug is
            // silent once lockdep has spoken; then the CPU spins for ever.
            try lockup(spinningOn: lock, api: api, after: lockdepReport)
        }
        lock.owner = contexts.current
        contexts.current.heldLocks.append(HeldLock(lock: lock, site: site, hardirqsOff: contexts.irqsDisabled))
    }

    private func releaseSpin(_ lock: SpinLock) {
        lockdepRelease(lock, site: callSite(fallback: "_raw_spin_unlock"))
        // spinlock_debug.c debug_spin_unlock(): "already unlocked" / "wrong
        // owner" are spin_bug()s, silent after lockdep's report; the arch
        // unlock then releases the lock whoever held it.
        lock.owner = nil
    }

    /// `preempt_enable()`. With CONFIG_DEBUG_PREEMPT an underflow is refused
    /// (preempt_count_sub's DEBUG_LOCKS_WARN_ON), so the count never wraps.
    func preemptEnable() {
        if contexts.preemptCount & Preempt.preemptMask > 0 {
            contexts.preemptCount -= Preempt.preemptOffset
        }
    }

    /// `preempt_disable()`.
    public func preemptDisable() { contexts.preemptCount &+= Preempt.preemptOffset }

    // MARK: the interrupt flag

    /// `local_irq_disable()`.
    public func localIrqDisable() { contexts.irqsDisabled = true }

    /// `local_irq_enable()`: interrupts that arrived meanwhile are delivered now.
    public func localIrqEnable() throws {
        contexts.irqsDisabled = false
        try deliverPendingIrqs()
    }

    /// `local_irq_save()`: the flags, then interrupts off.
    public func localIrqSave() -> UInt64 {
        let flags = contexts.currentFlags
        contexts.irqsDisabled = true
        return flags
    }

    /// `local_irq_restore(flags)`. Restoring while interrupts are on is the
    /// CONFIG_DEBUG_IRQFLAGS warning of kernel/locking/irqflag-debug.c.
    public func localIrqRestore(_ flags: UInt64) throws {
        if !contexts.irqsDisabled {
            warnOnce(site: "warn_bogus_irq_restore",
                     message: "raw_local_irq_restore() called with IRQs enabled",
                     file: "kernel/locking/irqflag-debug.c", line: 10, function: "warn_bogus_irq_restore")
        }
        if flags & IrqFlags.interruptFlag != 0 {
            try localIrqEnable()
        } else {
            contexts.irqsDisabled = true
        }
    }

    /// `local_bh_disable()`.
    public func localBhDisable() {
        contexts.preemptCount &+= Preempt.softirqDisableOffset
    }

    /// `local_bh_enable()`: pending softirqs (tasklets) run when the count
    /// drops to zero outside interrupt context (kernel/softirq.c).
    public func localBhEnable() throws {
        if contexts.preemptCount & Preempt.softirqMask >= Preempt.softirqDisableOffset {
            contexts.preemptCount -= Preempt.softirqDisableOffset
        }
        if !contexts.inInterrupt && !contexts.irqsDisabled && !contexts.taskletQueue.isEmpty {
            try runSoftirqs(onIrqExit: false)
        }
    }

    // MARK: mutexes

    /// `mutex_init()`.
    public func mutexInit(name: String? = nil, classKey: String? = nil) -> KernelMutex {
        let cls = contexts.lockClass(name: name ?? "&mutex", key: classKey, waitType: 3)
        return KernelMutex(lockClass: cls, address: contexts.nextLockObjectAddress(size: 160))
    }

    /// `mutex_lock()`: may sleep (the might_sleep() check), lockdep, then the
    /// lock. Waiting for a mutex whose owner cannot run (ourselves, or a
    /// task we are blocking) never ends: the hung task detector reports it
    /// and the simulated task ends with `KernelOops`.
    public func mutexLock(_ mutex: KernelMutex) throws {
        // 6.12 with lockdep: might_sleep() in __mutex_lock_common().
        mightSleep(file: "kernel/locking/mutex.c", line: 585, function: "__mutex_lock")
        let site = callSite(fallback: "mutex_lock_nested")
        let lockdepReport = lockdepAcquire(mutex, site: site)
        if mutex.owner != nil {
            try hungTask(waitingFor: mutex, after: lockdepReport)
        }
        mutex.owner = contexts.current
        contexts.current.heldLocks.append(HeldLock(lock: mutex, site: site, hardirqsOff: contexts.irqsDisabled))
    }

    /// `mutex_trylock()`: 1 if taken, 0 if not (never sleeps).
    public func mutexTrylock(_ mutex: KernelMutex) -> Int {
        guard mutex.owner == nil else { return 0 }
        let site = callSite(fallback: "mutex_trylock")
        lockdepAcquire(mutex, site: site, trylock: true)
        mutex.owner = contexts.current
        contexts.current.heldLocks.append(HeldLock(lock: mutex, site: site, hardirqsOff: contexts.irqsDisabled))
        return 1
    }

    /// `mutex_unlock()`: lockdep's bad unlock balance if the current task does
    /// not hold it (mutex-debug's DEBUG_LOCKS_WARN_ON(owner != current) is
    /// silent after lockdep has spoken).
    public func mutexUnlock(_ mutex: KernelMutex) throws {
        let held = lockdepRelease(mutex, site: callSite(fallback: "mutex_unlock"))
        if !held, mutex.owner != nil, mutex.owner !== contexts.current, contexts.debugLocksOff() {
            raise(warnReport(message: "DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)",
                             file: "kernel/locking/mutex.c", line: 916, function: "__mutex_unlock_slowpath",
                             kind: .badUnlock, fields: ["lock": mutex.name]))
        }
        mutex.owner = nil
    }

    /// `mutex_is_locked()`.
    public func mutexIsLocked(_ mutex: KernelMutex) -> Bool { mutex.owner != nil }
}
