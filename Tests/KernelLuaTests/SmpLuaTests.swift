import Testing
import KernelLua
import KernelSim
import LuaBridge

/// boot{cpus=N}, smp_processor_id, num_online_cpus, smp_call_function_single,
/// work_on_cpu, vm_unmap_aliases and stats().ipis/tlb_shootdowns from Lua.
@Suite struct SmpLuaTests {
    @Test func bootTakesCpusFrom1To64AndNamesABadValue() throws {
        let h = try KernelHarness()
        #expect(h.values("boot{cpus=8} return num_online_cpus()") == [.integer(8)])
        #expect(h.values("boot{} return num_online_cpus()") == [.integer(1)])
        for bad in ["0", "65", "2.5", "\"2\""] {
            let msg = try #require(h.errorMessage("boot{cpus=\(bad)}"))
            #expect(msg.contains("boot: cpus must be an integer from 1 to 64"), "\(bad): \(msg)")
        }
        #expect(h.values("return num_online_cpus()") == [.integer(1)])   // the machine was kept
    }

    @Test func anIpiFunctionGetsInfoAndRunsInHardirqOnThatCpu() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{cpus=2}
            local seen
            local r = smp_call_function_single(1, function(info)
                seen = {info.n, smp_processor_id(), in_irq(), irqs_disabled(), current.comm}
            end, {n = 7}, true)
            local s = stats()
            return r, seen[1], seen[2], seen[3], seen[4], seen[5], s.ipis, smp_call_function_single(2, print, nil, 0)
            """)
        #expect(v == [.integer(0), .integer(7), .integer(1), .boolean(true), .boolean(true),
                      .string(Array("swapper/1".utf8)), .integer(1), .integer(-6)])
        #expect(h.reports.isEmpty)
    }

    @Test func workOnCpuReturnsWhatTheFunctionReturnsAndRefusesAnOfflineCpu() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{cpus=4}
            local t = work_on_cpu(2, function() return {cpu = smp_processor_id(), comm = current.comm} end)
            return t.cpu, t.comm, in_task(), work_on_cpu(3, function() end)
            """)
        #expect(v == [.integer(2), .string(Array("kworker/2:1".utf8)), .boolean(true), .nil])
        let msg = try #require(h.errorMessage("work_on_cpu(4, function() end)"))
        #expect(msg.contains("work_on_cpu") && msg.contains("cpu") && msg.contains("0..3"))
        #expect(h.errorMessage("work_on_cpu(1, 5)")?.contains("fn") == true)
    }

    @Test func batchedPurgesSendFarFewerIpisThanVfrees_lazyMaxPages() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{cpus=2}
            local boot_areas = proc("/proc/vmallocinfo")
            for i = 1, 2000 do vfree(vmalloc(8 * PAGE_SIZE)) end
            local s = stats()
            return s.ipis, s.tlb_shootdowns, proc("/proc/vmallocinfo") == boot_areas
            """)
        // 9 pages a vfree, a purge once more than 16384 pages wait: 1 IPI per 1821 vfrees;
        // only the kernel's own boot-time areas are left.
        #expect(v == [.integer(1), .integer(1), .boolean(true)])
    }

    @Test func everyNewNameHasAHelpPage() throws {
        let h = try KernelHarness()
        for name in ["smp_processor_id", "num_online_cpus", "smp_call_function_single", "work_on_cpu", "vm_unmap_aliases"] {
            let text = try #require(h.env.docs[name], "\(name) has no doc")
            #expect(!text.kernel.isEmpty && !text.context.isEmpty, "\(name)")
        }
    }
}
