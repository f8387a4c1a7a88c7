import Testing
import KernelSim
import LuaBridge

/// `boot{}` from inside a callback of the machine it replaces: the old
/// machine's queued tasklets, work, pending interrupts never run, and no
/// callback is ever called through a registry reference released by the
/// boot (the slot may hold an unrelated function by then).
@Suite struct BootFromCallbackTests {
    @Test func aTaskletThatBootsDropsTheOldMachinesOtherTasklets() throws {
        let h = try KernelHarness()
        let v = h.values("""
            ran = {}
            local function t1() ran[#ran + 1] = "t1"; boot{} end
            local function t2() ran[#ran + 1] = "t2" end
            local function t3() ran[#ran + 1] = "t3" end
            request_irq(11, function()
              tasklet_schedule(t1); tasklet_schedule(t2); tasklet_schedule(t3)
              schedule_work(t3)
              return IRQ_HANDLED
            end, 0, "nic", nil)
            raise_irq(11)
            -- fresh functions that may reuse the released registry slots
            local decoys = {}
            for i = 1, 50 do decoys[i] = function() ran[#ran + 1] = "decoy" end end
            msleep(10)
            return table.concat(ran, ",")
            """)
        #expect(v == [.string(Array("t1".utf8))])
    }

    @Test func theReleasedSlotsReusedByNewCallbacksNeverRunInTheOldOnesPlace() throws {
        let h = try KernelHarness()
        // The first tasklet boots and immediately fills the registry with
        // new references (new tasklets on the new machine); the old softirq
        // loop must not call any of them as "t2".
        let v = h.values("""
            ran = {}
            local function t2() ran[#ran + 1] = "old-t2" end
            local function t1()
              ran[#ran + 1] = "t1"
              boot{}
              for i = 1, 20 do
                local fn = function() ran[#ran + 1] = "new" .. i end
                request_irq(40 + i, fn, 0, "n" .. i, nil)
              end
            end
            request_irq(11, function() tasklet_schedule(t1); tasklet_schedule(t2); return IRQ_HANDLED end, 0, "nic", nil)
            raise_irq(11)
            return table.concat(ran, ",")
            """)
        #expect(v == [.string(Array("t1".utf8))])
    }

    @Test func anIrqHandlerThatBootsStopsTheOldMachinesStorm() throws {
        let h = try KernelHarness()
        let v = h.values("""
            n = 0
            request_irq(11, function()
              n = n + 1
              raise_irq(11)
              if n == 3 then boot{} end
              return IRQ_HANDLED
            end, 0, "nic", nil)
            raise_irq(11)
            return n, #reports()
            """)
        #expect(v == [.integer(3), .integer(0)])
    }

    @Test func aWorkItemThatBootsDropsTheRestOfTheQueue() throws {
        let h = try KernelHarness()
        let v = h.values("""
            ran = {}
            schedule_work(function() ran[#ran + 1] = "w1"; boot{} end)
            schedule_work(function() ran[#ran + 1] = "w2" end)
            flush_scheduled_work()
            return table.concat(ran, ",")
            """)
        #expect(v == [.string(Array("w1".utf8))])
    }

    @Test func aSyscallThatBootsReturnsItsValueAndTheNewMachineWorks() throws {
        let h = try KernelHarness()
        let v = h.values("""
            SYSCALL_DEFINE("reboot_me", function() boot{}; return 7 end)
            local r = user.syscall("reboot_me")
            local p = kmalloc(32, GFP_KERNEL)
            kfree(p)
            return r, #reports()
            """)
        #expect(v == [.integer(7), .integer(0)])
    }
}
