import KernelSim
import LuaBridge

/// Spinlocks, mutexes and the interrupt flag: glue to KernelSim/Contexts/Locks.swift.
/// A lock is a handle that prints like `spinlock_t{&lock, unlocked}`.
enum LockAPI {
    static let spinMeta = "kmlab.spinlock"
    static let mutexMeta = "kmlab.mutex"
    static let topic = ContextAPI.topic

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        func describe(_ kind: String, _ h: HandleValue) -> String {
            guard h.generation == glue.generation, h.id >= 0, h.id < Int64(glue.locks.count) else {
                return "\(kind){stale: from before boot{}}"
            }
            let l = glue.locks[Int(h.id)]
            let state = l.owner.map { "held by \($0.comm)/\($0.pid)" } ?? "unlocked"
            return "\(kind){\(l.name), \(state)}"
        }
        glue.makeHandleMetatable(spinMeta, typeName: "spinlock_t", tostring: { describe("spinlock_t", $1) })
        glue.makeHandleMetatable(mutexMeta, typeName: "struct mutex", tostring: { describe("mutex", $1) })

        func newLock(_ call: LuaCall, _ make: (String?, String?) -> KernelLock, meta: String) throws -> Int32 {
            let name = try call.optionalString(1, "name")
            guard glue.locks.count < 200_000 else {
                throw call.error("too many locks on this machine (200000): kmlab's limit, boot{} starts afresh")
            }
            let lock = make(name.map { $0.hasPrefix("&") ? $0 : "&" + $0 }, glue.callerSite(call))
            glue.locks.append(lock)
            HandleValue.push(HandleValue(id: Int64(glue.locks.count - 1), generation: glue.generation),
                             metatable: meta, on: call)
            return 1
        }
        func spin(_ call: LuaCall, _ i: Int32 = 1) throws -> SpinLock {
            let l: KernelLock = try glue.object(call, i, "lock", metatable: spinMeta,
                                                expected: "a spinlock (from spin_lock_init)", in: glue.locks)
            guard let s = l as? SpinLock else { throw call.argumentError(i, "lock", "a spinlock (from spin_lock_init)") }
            return s
        }
        func mutex(_ call: LuaCall, _ i: Int32 = 1) throws -> KernelMutex {
            let l: KernelLock = try glue.object(call, i, "mutex", metatable: mutexMeta,
                                                expected: "a mutex (from mutex_init)", in: glue.locks)
            guard let m = l as? KernelMutex else { throw call.argumentError(i, "mutex", "a mutex (from mutex_init)") }
            return m
        }
        func flags(_ call: LuaCall, _ i: Int32) throws -> UInt64 {
            let v = try call.integer(i, "flags", expected: "the flags spin_lock_irqsave/local_irq_save returned")
            return UInt64(bitPattern: v)
        }

        env.define("spin_lock_init", doc: APIDoc(topic: topic, signature: "spin_lock_init([name]) -> lock",
            summary: "A new spinlock_t, unlocked. lockdep gives every init site its own lock class (named &name, or &lock); it checks the order locks are taken in, recursion, and locks taken both in and out of interrupts without disabling them.",
            kernel: "include/linux/spinlock.h spin_lock_init()")) { call in
            try newLock(call, { env.machine.spinLockInit(name: $0, classKey: $1) }, meta: spinMeta)
        }
        env.define("spin_lock", doc: APIDoc(topic: topic, signature: "spin_lock(lock)",
            summary: "Takes the spinlock: preemption is disabled (in_atomic() becomes true), so nothing that sleeps may run until spin_unlock. Taking a lock this CPU already holds never ends: lockdep's \"possible recursive locking\" report, then the watchdog's lockup, and the task dies.",
            context: "any context; a lock also taken by an interrupt handler needs spin_lock_irqsave", kernel: "kernel/locking/spinlock.c _raw_spin_lock()")) { call in
            try env.machine.spinLock(try spin(call))
            return 0
        }
        env.define("spin_unlock", doc: APIDoc(topic: topic, signature: "spin_unlock(lock)",
            summary: "Releases the spinlock and re-enables preemption. Unlocking a lock this task does not hold is lockdep's \"bad unlock balance\" report.",
            kernel: "kernel/locking/spinlock.c _raw_spin_unlock()")) { call in
            try env.machine.spinUnlock(try spin(call))
            return 0
        }
        env.define("spin_lock_irqsave", doc: APIDoc(topic: topic, signature: "spin_lock_irqsave(lock) -> flags",
            summary: "Saves the interrupt flag, disables interrupts on this CPU, then takes the lock: the way to share a lock with an interrupt handler. Give the returned flags (0x246 if interrupts were on, 0x46 if off) back to spin_unlock_irqrestore.",
            kernel: "kernel/locking/spinlock.c _raw_spin_lock_irqsave()")) { call in
            call.push(Int64(bitPattern: try env.machine.spinLockIrqsave(try spin(call))))
            return 1
        }
        env.define("spin_unlock_irqrestore", doc: APIDoc(topic: topic, signature: "spin_unlock_irqrestore(lock, flags)",
            summary: "Releases the lock and restores the interrupt flag saved by spin_lock_irqsave; an interrupt that arrived meanwhile is delivered at once.",
            kernel: "kernel/locking/spinlock.c _raw_spin_unlock_irqrestore()")) { call in
            let l = try spin(call)
            try env.machine.spinUnlockIrqrestore(l, flags: try flags(call, 2))
            return 0
        }
        env.define("spin_lock_irq", doc: APIDoc(topic: topic, signature: "spin_lock_irq(lock)",
            summary: "Disables interrupts (unconditionally) and takes the lock.", kernel: "kernel/locking/spinlock.c _raw_spin_lock_irq()")) { call in
            try env.machine.spinLockIrq(try spin(call))
            return 0
        }
        env.define("spin_unlock_irq", doc: APIDoc(topic: topic, signature: "spin_unlock_irq(lock)",
            summary: "Releases the lock and enables interrupts (unconditionally).", kernel: "kernel/locking/spinlock.c _raw_spin_unlock_irq()")) { call in
            try env.machine.spinUnlockIrq(try spin(call))
            return 0
        }
        env.define("spin_lock_bh", doc: APIDoc(topic: topic, signature: "spin_lock_bh(lock)",
            summary: "Disables softirqs (tasklets) on this CPU and takes the lock: for data shared with a tasklet.", kernel: "kernel/locking/spinlock.c _raw_spin_lock_bh()")) { call in
            try env.machine.spinLockBh(try spin(call))
            return 0
        }
        env.define("spin_unlock_bh", doc: APIDoc(topic: topic, signature: "spin_unlock_bh(lock)",
            summary: "Releases the lock and re-enables softirqs; pending tasklets run.", kernel: "kernel/locking/spinlock.c _raw_spin_unlock_bh()")) { call in
            try env.machine.spinUnlockBh(try spin(call))
            return 0
        }
        env.define("spin_trylock", doc: APIDoc(topic: topic, signature: "spin_trylock(lock) -> boolean",
            summary: "Takes the lock if it is free and returns true; returns false at once if it is held.", kernel: "kernel/locking/spinlock.c _raw_spin_trylock()")) { call in
            call.push(try env.machine.spinTrylock(try spin(call)) == 1)
            return 1
        }
        env.define("local_irq_disable", doc: APIDoc(topic: topic, signature: "local_irq_disable()",
            summary: "Clears the interrupt flag of this CPU: raised interrupts wait (pending) until local_irq_enable. The context becomes atomic for might_sleep.",
            kernel: "include/linux/irqflags.h local_irq_disable()")) { _ in
            env.machine.localIrqDisable()
            return 0
        }
        env.define("local_irq_enable", doc: APIDoc(topic: topic, signature: "local_irq_enable()",
            summary: "Sets the interrupt flag again; interrupts that arrived meanwhile are delivered now.",
            kernel: "include/linux/irqflags.h local_irq_enable()")) { _ in
            try env.machine.localIrqEnable()
            return 0
        }
        env.define("local_irq_save", doc: APIDoc(topic: topic, signature: "local_irq_save() -> flags",
            summary: "Returns the interrupt flag (as EFLAGS: 0x246 on, 0x46 off) and disables interrupts.",
            kernel: "include/linux/irqflags.h local_irq_save()")) { call in
            call.push(Int64(bitPattern: env.machine.localIrqSave()))
            return 1
        }
        env.define("local_irq_restore", doc: APIDoc(topic: topic, signature: "local_irq_restore(flags)",
            summary: "Restores the interrupt flag saved by local_irq_save.", kernel: "include/linux/irqflags.h local_irq_restore()")) { call in
            try env.machine.localIrqRestore(try flags(call, 1))
            return 0
        }
        env.define("local_bh_disable", doc: APIDoc(topic: topic, signature: "local_bh_disable()",
            summary: "Disables softirqs (tasklets) on this CPU; in_softirq() becomes true.", kernel: "include/linux/bottom_half.h local_bh_disable()")) { _ in
            env.machine.localBhDisable()
            return 0
        }
        env.define("local_bh_enable", doc: APIDoc(topic: topic, signature: "local_bh_enable()",
            summary: "Re-enables softirqs; pending tasklets run now.", kernel: "kernel/softirq.c __local_bh_enable_ip()")) { _ in
            try env.machine.localBhEnable()
            return 0
        }
        env.define("mutex_init", doc: APIDoc(topic: topic, signature: "mutex_init([name]) -> mutex",
            summary: "A new struct mutex, unlocked. A mutex is a sleeping lock: waiting for it sleeps, so it is for process context only.",
            kernel: "include/linux/mutex.h mutex_init()")) { call in
            try newLock(call, { env.machine.mutexInit(name: $0, classKey: $1) }, meta: mutexMeta)
        }
        env.define("mutex_lock", doc: APIDoc(topic: topic, signature: "mutex_lock(mutex)",
            summary: "Takes the mutex, sleeping until it is free. In atomic context: the sleeping-function BUG. Waiting for a mutex the task itself holds never ends: lockdep's report, then the hung task detector, and the task dies.",
            context: "process context only", kernel: "kernel/locking/mutex.c mutex_lock()")) { call in
            try env.machine.mutexLock(try mutex(call))
            return 0
        }
        env.define("mutex_unlock", doc: APIDoc(topic: topic, signature: "mutex_unlock(mutex)",
            summary: "Releases the mutex. Only the task that took it may release it.",
            context: "process context only", kernel: "kernel/locking/mutex.c mutex_unlock()")) { call in
            try env.machine.mutexUnlock(try mutex(call))
            return 0
        }
        env.define("mutex_trylock", doc: APIDoc(topic: topic, signature: "mutex_trylock(mutex) -> boolean",
            summary: "Takes the mutex if it is free (true) without ever sleeping; false if it is held.",
            kernel: "kernel/locking/mutex.c mutex_trylock()")) { call in
            call.push(env.machine.mutexTrylock(try mutex(call)) == 1)
            return 1
        }
        env.define("mutex_is_locked", doc: APIDoc(topic: topic, signature: "mutex_is_locked(mutex) -> boolean",
            summary: "Whether someone holds the mutex.", kernel: "include/linux/mutex.h mutex_is_locked()")) { call in
            call.push(env.machine.mutexIsLocked(try mutex(call)))
            return 1
        }
    }
}
