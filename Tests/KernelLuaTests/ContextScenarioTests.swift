import Testing
import KernelSim
import LuaBridge

/// Issue 4's "Done when": each correct use and each misuse of the context
/// rules, run as Lua, asserting the report text and its structured form.
/// The rules: kernel/sched/core.c __might_resched (the sleeping-in-atomic
/// splat), include/linux/gfp_types.h (GFP_ATOMIC has no __GFP_DIRECT_RECLAIM).
@Suite struct ContextScenarioTests {
    /// The lines of a report from `Call Trace:` on.
    func trace(_ r: KernelReport) -> [String] { Array(r.lines.drop { $0 != "Call Trace:" }) }

    @Test func gfpKernelInASyscallIsFine() throws {
        let h = try KernelHarness()
        let v = h.values("""
            SYSCALL_DEFINE("grab", function(n)
              local p = kmalloc(n, GFP_KERNEL)
              local who = current.comm .. "/" .. current.pid .. " " .. tostring(in_task())
              kfree(p)
              seen = who
              return 0
            end)
            return user.syscall("grab", 200), seen, current.comm
            """)
        #expect(v == [.integer(0), .string("a.out/413 true"), .string("insmod")])
        #expect(h.reports.isEmpty)
    }

    @Test func gfpKernelInAnIrqHandlerIsTheSleepingInAtomicBug() throws {
        let h = try KernelHarness()
        let v = h.values("""
            request_irq(11, function(irq, dev)
              local p = kmalloc(64, GFP_KERNEL)
              kfree(p)
              return IRQ_HANDLED
            end, 0, "nic", nil)
            return raise_irq(11), in_irq(), irqs_disabled()
            """)
        #expect(v == [.string("delivered"), .boolean(false), .boolean(false)])
        #expect(h.reports.count == 1)
        let r = try #require(h.reports.first)
        #expect(r.kind == .sleepingInAtomic && r.severity == .warning && r.context == "hardirq")
        #expect(r.headline.hasPrefix("BUG: sleeping function called from invalid context at "))
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[2] == "preempt_count: 10000, expected: 0")
        #expect(r.fields["in_atomic"] == "1" && r.fields["irqs_disabled"] == "1")
        let t = trace(r)
        #expect(t.contains(" <IRQ>") && t.contains(" handle_irq_event") && t.contains(" raise_irq"))
        // the handler is named in the trace, with the line that allocated
        #expect(t.contains(" fn@test:1 [test:2]"))
        // the same report as a Lua value
        let lua = h.values("local r = reports()[1]; return r.kind, r.context, r.in_atomic")
        #expect(lua == [.string("sleeping-in-atomic"), .string("hardirq"), .string("1")])
    }

    @Test func gfpKernelUnderASpinlockIsTheBugWithTheLockListed() throws {
        let h = try KernelHarness()
        h.run("""
            local l = spin_lock_init("nic->lock")
            spin_lock(l)
            local p = kmalloc(10, GFP_KERNEL)
            spin_unlock(l)
            kfree(p)
            """)
        let r = try #require(h.reports.first)
        #expect(h.reports.count == 1)
        #expect(r.kind == .sleepingInAtomic && r.context == "process")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[2] == "preempt_count: 1, expected: 0")
        #expect(r.lines.contains("1 lock held by insmod/412:"))
        #expect(r.lines.contains { $0.contains("(&nic->lock)") && $0.contains("at: <chunk> [test:2]") })
        #expect(r.fields["locks_held"] == "1")
    }

    /// vmalloc sleeps (mm/vmalloc.c alloc_vmap_area's might_sleep) and, in
    /// interrupt context, __get_vm_area_node's BUG_ON(in_interrupt()) fires
    /// first in the real kernel. Either way the report is a BUG in mm/vmalloc.c,
    /// raised in hardirq context.
    @Test func vmallocInAnIrqHandlerIsABugInMmVmalloc() throws {
        let h = try KernelHarness()
        h.run("""
            request_irq(11, function() local p = vmalloc(8192); vfree(p); return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            """)
        let r = try #require(h.reports.first)
        let sleeping = r.kind == .sleepingInAtomic
            && r.headline.hasPrefix("BUG: sleeping function called from invalid context at mm/vmalloc.c:")
            && r.lines[1].hasPrefix("in_atomic(): 1, irqs_disabled(): 1")
        let bugOn = r.lines.contains { $0.hasPrefix("kernel BUG at mm/vmalloc.c:") }
        #expect(sleeping || bugOn)
        #expect(r.context == "hardirq")
    }

    @Test func gfpAtomicInAnIrqHandlerIsFine() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local got
            request_irq(11, function() got = kmalloc(1500, GFP_ATOMIC); return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            local ok = got ~= nil
            kfree(got)
            return ok
            """)
        #expect(v == [.boolean(true)])
        #expect(h.reports.isEmpty)
    }

    @Test func workDeferredFromAHandlerAllocatesWithGfpKernelInAKworker() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local log = {}
            local function refill()
              local p = kmalloc(4096, GFP_KERNEL)
              log[#log + 1] = current.comm .. " " .. tostring(in_task()) .. " " .. tostring(in_atomic())
              kfree(p)
            end
            request_irq(11, function() schedule_work(refill); return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            local before = #log
            flush_scheduled_work()
            return before, log[1]
            """)
        #expect(v == [.integer(0), .string("kworker/0:1 true false")])
        #expect(h.reports.isEmpty)
    }

    @Test func aTaskletRunsInSoftirqContextAfterTheHandler() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local order = {}
            local function bh() order[#order + 1] = "tasklet " .. tostring(in_softirq()) .. " " .. tostring(in_irq()) end
            request_irq(11, function() order[#order + 1] = "irq"; tasklet_schedule(bh); return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            return table.concat(order, ", ")
            """)
        #expect(v == [.string("irq, tasklet true false")])
    }

    @Test func currentFollowsTheContext() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local inirq
            request_irq(11, function() inirq = current.comm .. " " .. current.context; return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            SYSCALL_DEFINE("who", function() return current.pid end)
            return current.comm, current.pid, inirq, user.syscall("who"), tostring(current)
            """)
        #expect(v == [.string("insmod"), .integer(412), .string("insmod hardirq"), .integer(413),
                      .string("task{pid=412, comm=insmod, context=process}")])
        #expect(h.errorMessage("current.pid = 3")?.contains("read-only") == true)
    }

    @Test func errnoConstantsHaveTheirValues() throws {
        let h = try KernelHarness()
        #expect(h.values("return EFAULT, ENOMEM, EINVAL, EBUSY, ENOSYS, IRQ_HANDLED, IRQ_NONE, IRQF_SHARED")
                == [.integer(14), .integer(12), .integer(22), .integer(16), .integer(38), .integer(1), .integer(0), .integer(0x80)])
    }

    @Test func requestIrqReturnsErrnos() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local f = function() return IRQ_HANDLED end
            return request_irq(11, f, 0, "a", 1), request_irq(11, f, IRQF_SHARED, "b", 2),
                   request_irq(12, f, IRQF_SHARED, "c", nil), request_irq(12, nil, 0, "d", 1),
                   request_irq(9999, f, 0, "e", 1), free_irq(11, 1), free_irq(11, 1)
            """)
        #expect(v == [.integer(0), .integer(-16), .integer(-22), .integer(-22), .integer(-22), .string("a"), .nil])
        #expect(h.reports.contains { $0.headline == "Trying to free already-free IRQ 11" })
        #expect(h.machine.log.text.contains("genirq: Flags mismatch irq 11. 00000080 (b) vs. 00000000 (a)"))
        #expect(try h.machine.proc("/proc/interrupts").contains("IO-APIC"))
    }
}

@Suite struct CallbackTraceTests {
    @Test func aGlobalHandlerIsNamedInTheCallTrace() throws {
        let h = try KernelHarness()
        h.run("""
            function nic_irq(irq, dev)
              return kmalloc(8, GFP_KERNEL) and IRQ_HANDLED
            end
            request_irq(11, nic_irq, 0, "nic", nil)
            raise_irq(11)
            """)
        let r = try #require(h.reports.first)
        #expect(r.lines.contains(" nic_irq [test:2]"))
    }

    @Test func aSyscallHandlerIsNamedInTheCallTrace() throws {
        let h = try KernelHarness()
        h.run("""
            local l = spin_lock_init()
            function do_read(ubuf)
              spin_lock(l); msleep(1); spin_unlock(l)
              return 0
            end
            SYSCALL_DEFINE("read", do_read)
            user.syscall("read", 0)
            """)
        let r = try #require(h.reports.first)
        #expect(r.kind == .schedulingWhileAtomic)
        #expect(r.headline == "BUG: scheduling while atomic: a.out/413/0x00000002")
        #expect(r.lines.contains(" do_read [test:3]"))
        #expect(r.lines.contains(" __do_sys_read"))
    }
}

@Suite struct LockWithIrqScenarioTests {
    /// The classic: a lock taken by the irq handler and, without disabling
    /// interrupts, by process context. lockdep sees the inconsistency; when
    /// the interrupt really arrives while the lock is held, the CPU deadlocks.
    @Test func aLockSharedWithAHandlerNeedsIrqsave() throws {
        let h = try KernelHarness()
        let m = h.errorMessage("""
            local l = spin_lock_init("nic->lock")
            request_irq(11, function() spin_lock(l) spin_unlock(l) return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            spin_lock(l)
            raise_irq(11)
            spin_unlock(l)
            """)
        #expect(m?.hasPrefix("watchdog: Watchdog detected hard LOCKUP on cpu 0") == true)
        let r = try #require(h.reports.first)
        #expect(r.kind == .inconsistentLockState)
        #expect(r.lines.contains("inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage."))
        #expect(r.lines.contains { $0.contains("(&nic->lock){?...}-{2:2}, at: <chunk> [test:4]") })
    }

    @Test func withIrqsaveTheInterruptWaitsForTheUnlock() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local l = spin_lock_init("nic->lock")
            local ran = 0
            request_irq(11, function() spin_lock(l) ran = ran + 1 spin_unlock(l) return IRQ_HANDLED end, 0, "nic", nil)
            local flags = spin_lock_irqsave(l)
            local state = raise_irq(11)
            local before = ran
            spin_unlock_irqrestore(l, flags)
            return state, before, ran
            """)
        #expect(v == [.string("pending"), .integer(0), .integer(1)])
        #expect(h.reports.isEmpty)
    }
}
