import Testing
import KernelSim

/// vmalloc from interrupt context is a BUG, not just a sleeping-in-atomic
/// warning: __get_vm_area_node() starts with BUG_ON(in_interrupt())
/// (mm/vmalloc.c), before anything could sleep. Under a spinlock in process
/// context it is the might_sleep splat.
@Suite struct VmallocContextTests {
    @Test func vmallocInAHandlerIsAKernelBugThatKillsTheTask() throws {
        let h = try KernelHarness()
        let m = try #require(h.errorMessage("""
            request_irq(11, function() vmalloc(8192) return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            """))
        #expect(m.contains("kernel BUG at mm/vmalloc.c:"))
        #expect(m.contains("invalid opcode: 0000 [#1]"))
        let bug = try #require(h.reports.first { $0.kind == .bug })
        #expect(bug.severity == .oops)
        #expect(!h.reports.contains { $0.kind == .sleepingInAtomic })
    }

    @Test func vmallocUnderASpinlockIsTheSleepingSplatAndGoesOn() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local l = spin_lock_init()
            spin_lock(l)
            local p = vmalloc(8192)
            spin_unlock(l)
            vfree(p)
            return p ~= nil
            """)
        #expect(v == [.boolean(true)])
        #expect(h.reports.contains { $0.kind == .sleepingInAtomic && $0.text.contains("mm/vmalloc.c") })
    }
}
