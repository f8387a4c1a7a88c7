import Testing
@testable import KernelSim

/// The kernel's own vmalloc-area users after boot (BootVmallocUsers.swift):
/// mm/vmalloc.c s_show()'s format, real areas that take address space and
/// frames, never the script's leaks.
@Suite struct BootVmallocUsersTests {
    @Test func x86_64ListsVmappedStacksIoremapsBpfAndAPerCpuChunk_mm_vmalloc_c_s_show() throws {
        let m = try Machine(config: MachineConfig(arch: .x86_64))
        let lines = try m.proc("/proc/vmallocinfo").split(separator: "\n").map(String.init)
        #expect(lines.first == "0xffffc90000000000-0xffffc90000002000    8192 acpi_os_map_iomem+0x1c4/0x200 phys=0x00000000000f5000 ioremap")
        #expect(lines[1].hasSuffix(" hpet_enable+0x3e/0x2f0 phys=0x00000000fed00000 ioremap"))
        let stacks = lines.filter { $0.contains(" dup_task_struct+0x4e/0x1b0 pages=4 vmalloc N0=4") }
        #expect(stacks.count == Machine.bootTaskStacks)
        #expect(stacks.allSatisfy { $0.contains("   20480 ") })
        #expect(lines.last == "0xffffe8ffffc00000-0xffffe8ffffe00000 2097152 pcpu_get_vm_areas+0x0/0x1100 vmalloc")
        // More CPUs, more per-CPU kernel threads and idle tasks.
        var four = MachineConfig(arch: .x86_64)
        four.cpus = 4
        let smp = try Machine(config: four)
        #expect(try smp.proc("/proc/vmallocinfo").components(separatedBy: " dup_task_struct+").count - 1
                == Machine.bootTaskStacks + 3 * Machine.stacksPerExtraCPU)
    }

    @Test func theyAreRealAreasButNotTheScriptsAllocations() throws {
        for config in [MachineConfig(), MachineConfig(arch: .x86_64), MachineConfig(era: .v2_6)] {
            let m = try Machine(config: config)
            let areas = m.vm.areas
            #expect(!areas.isEmpty && areas.allSatisfy(\.kernelOwned))
            // Frames of their own, owned by vmalloc, mapped by their PTEs.
            #expect(m.checkInvariants() == [])
            #expect(m.vm.usedPages == areas.reduce(0) { $0 + $1.pages.count })
            // Every page-backed user got all its pages.
            #expect(areas.allSatisfy { $0.pageBacked || $0.pages.isEmpty })
            // VmallocUsed: 6.x vmalloc_nr_pages() (fs/proc/meminfo.c) counts
            // vmalloc'd pages; 2.6.18 get_vmalloc_info() sums the areas' sizes.
            let used = try m.proc("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("VmallocUsed:") }
            let kb = config.era == .v6 ? m.vm.usedPages * 4 : Int(areas.reduce(0) { $0 + $1.size } >> 10)
            #expect(used?.split(separator: " ").map(String.init) == ["VmallocUsed:", String(kb), "kB"])
            // Not leaks, not anybody's live allocations.
            #expect(m.liveAllocations().isEmpty)
            #expect(m.kmemleakReports().isEmpty)
            // The script's first vmalloc comes after them (first fit).
            let v = try #require(try m.vmalloc(4096))
            #expect(v > areas.filter { $0.start < v }.map(\.start).max() ?? 0)
            #expect(m.liveAllocations().map(\.address) == [v])
        }
    }

    /// Their frames are the boot page cache's newest, not the free lists':
    /// the script starts from the free blocks a machine without them has.
    @Test func theirFramesComeOutOfTheBootPageCacheNotTheFreeLists() throws {
        for config in [MachineConfig(), MachineConfig(arch: .x86_64), MachineConfig(era: .v2_6),
                       MachineConfig(era: .v2_6, fragmented: true)] {
            let m = try Machine(config: config)
            // Boot fills page cache in whole 4 MiB blocks (Boot.swift); the
            // areas' frames are part of those blocks, not extra.
            // (An aged machine's page cache also has single pages, read at random.)
            #expect(m.vm.usedPages > 0 && (config.fragmented || (m.pageCachePages + m.vm.usedPages) % 1024 == 0))
            let filled = m.pageCachePages + m.vm.usedPages
            #expect(m.checkInvariants() == [])
            // The page cache that is left is still reclaimable, block by block,
            // and reclaiming all of it frees every frame but the areas'.
            let free = m.buddy.totalFree, cached = m.pageCachePages
            #expect(m.reclaimPageCache(target: filled, maxZone: m.zones.count - 1, only: nil) == cached)
            #expect(m.pageCachePages == 0 && m.buddy.totalFree == free + cached)
            #expect(m.checkInvariants() == [])
        }
    }

    @Test func vfreeOfABootAreaIsRefused() throws {
        let m = try Machine(config: MachineConfig(arch: .x86_64))
        let stack = try #require(m.vm.areas.first { $0.caller.hasPrefix("dup_task_struct") })
        try m.vfree(stack.start)
        #expect(m.log.reports.last?.kind == .invalidFree)
        #expect(m.vm.area(startingAt: stack.start) === stack)
        #expect(m.checkInvariants() == [])
    }

    @Test func era26HasFewUsers() throws {
        let m32 = try Machine(config: MachineConfig(era: .v2_6))
        let text = try m32.proc("/proc/vmallocinfo")
        #expect(text == """
            0xf8800000-0xf8802000    8192 acpi_os_map_memory+0x2e/0x40 phys=0x000f5000 ioremap
            0xf8802000-0xf8804000    8192 hpet_enable+0x26/0x2a0 phys=0xfed00000 ioremap
            0xf8804000-0xf8809000   20480 module_alloc+0x1f/0x30 pages=4 vmalloc

            """)
        let m64 = try Machine(config: MachineConfig(arch: .x86_64, era: .v2_6))
        #expect(try m64.proc("/proc/vmallocinfo").split(separator: "\n").count == 2)
    }
}
