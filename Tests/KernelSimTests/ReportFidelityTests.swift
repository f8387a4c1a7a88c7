import Testing
@testable import KernelSim

/// Reports and /proc files line for line against the release each era
/// models (6.12 for "6.x", 2.6.18 for "2.6").
@Suite struct ReportFidelityTests {
    // MARK: kernel/panic.c taint_flags[] and kernel/module/main.c

    @Test func loadingTheOutOfTreeModuleTaintsO_kernelModuleMain() throws {
        let m = try Machine(config: MachineConfig())
        #expect(m.contexts.taintString == "Tainted: G           O      ")
        #expect(m.log.text.contains("] kmlab: loading out-of-tree module taints kernel.\n"))
        #expect(m.contexts.modulesLinkedInLine == "Modules linked in: kmlab(O)")
        // Every report from then on carries the O.
        m.contexts.addTaint(.warn)
        #expect(m.contexts.cpuLine().hasSuffix("Tainted: G        W  O       6.12.0 #1"))
    }

    @Test func era26KnowsSixTaintFlagsAndNoModuleTaintLetters_panicC2618() throws {
        let m = try testMachine(era: .v2_6)
        #expect(m.contexts.taintString == "Not tainted")
        #expect(m.contexts.modulesLinkedInLine == "Modules linked in: kmlab")
        m.contexts.addTaint(.warn)  // TAINT_WARN came in 2.6.26
        #expect(m.contexts.taintString == "Not tainted")
        m.contexts.addTaint(.badPage)
        #expect(m.contexts.taintString == "Tainted: G    B")
    }

    // MARK: one release everywhere

    @Test func era6xIsLinux612Everywhere() throws {
        let m = try Machine(config: MachineConfig())
        #expect(m.layout.kernelRelease == "6.12.0")
        #expect(m.contexts.kernelRelease == "6.12.0")
        #expect(m.log.text.contains("Linux version 6.12.0 "))
        // include/linux/gfp_types.h of 6.12: GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone.
        #expect(GFP.nowait.rawValue == 0x800)
        #expect(GFP.nowait.mode == "0x800(GFP_NOWAIT)")
        #expect(GFP(rawValue: 0x2800).description == "GFP_NOWAIT|__GFP_NOWARN")
    }

    @Test func warnPrintsTheCallerWithItsOffsetAndTheModules_panicCWarn() throws {
        let m = try testMachine()
        let r = m.warnReport(message: "msg", file: "mm/vmalloc.c", line: 3294, function: "__vmalloc_node_range_noprof")
        #expect(r.lines[2] == "WARNING: CPU: 0 PID: 412 at mm/vmalloc.c:3294 \(m.symbol("__vmalloc_node_range_noprof"))")
        #expect(r.lines[2].contains("+0x"))
        #expect(r.lines[3] == "Modules linked in: kmlab(O)")
    }

    @Test func schedulingWhileAtomicListsModules_sched_core_schedule_bug() throws {
        let m = try testMachine()
        try m.spinLock(m.spinLockInit(name: "&l"))
        try m.schedule()
        let r = try #require(m.reports(.schedulingWhileAtomic).first)
        #expect(r.lines[0] == "BUG: scheduling while atomic: insmod/412/0x00000002")
        #expect(r.lines.contains("Modules linked in: kmlab(O)"))
    }

    @Test func era26SchedulingWhileAtomicIsCommCountPid_sched_c2618() throws {
        let m = try testMachine(era: .v2_6)
        try m.spinLock(m.spinLockInit(name: "&l"))
        try m.schedule()
        let r = try #require(m.reports(.schedulingWhileAtomic).first)
        #expect(r.lines[0] == "BUG: scheduling while atomic: insmod/0x00000002/412")
        #expect(!r.lines.contains { $0.hasPrefix("Modules linked in") })
    }

    // MARK: /proc/zoneinfo and /proc/meminfo (mm/vmstat.c, fs/proc/meminfo.c)

    @Test(arguments: [Arch.x86_32, .x86_64])
    func zoneinfoHasPromoPagesetsAndNumaCountersWhereTheBuildHasThem_vmstatZoneinfoShowPrint(arch: Arch) throws {
        let m = try testMachine(arch, ram: 1 << 30)
        _ = try m.allocPages(.kernel, order: 0)
        let text = try m.proc("/proc/zoneinfo")
        for z in m.zones {
            #expect(text.contains("\n        high     \(z.wmarkHigh)\n        promo    \(z.wmarkPromo)\n        spanned  \(z.spanned)\n"))
        }
        #expect(text.contains("\n              count:    0\n              high:     0\n              batch:    1\n              high_min: 0\n              high_max: 0\n  vm stats threshold: 0\n"))
        #expect(text.contains("numa_hit") == (arch == .x86_64))
        if arch == .x86_64 {
            let served = m.zones.reduce(0) { $0 + $1.numaHits }
            #expect(served >= 1)
            #expect(text.contains("\n      numa_miss    0\n      numa_foreign 0\n      numa_interleave 0\n"))
        }
        let meminfo = try m.proc("/proc/meminfo")
        #expect(meminfo.contains("\nHardwareCorrupted:     0 kB\n"))
    }

    // MARK: mm/page_alloc.c warn_alloc() and mm/show_mem.c __show_mem()

    /// Exhausts the memory an order-10 GFP_ATOMIC request can reach and
    /// returns the allocation-failure reports.
    func atomicFailure(_ m: Machine, attempts: Int = 1) throws -> [KernelReport] {
        while try m.allocPages(.atomic, order: 10) != nil {}
        for _ in 1..<max(1, attempts) { _ = try m.allocPages(.atomic, order: 10) }
        return m.reports(.allocationFailure)
    }

    @Test func x86_32FailureSkipsHighMemHasNoNodePrefixAndShowsMigrateTypes_showMem() throws {
        let m = try testMachine(.x86_32, ram: 1 << 30)
        let r = try #require(try atomicFailure(m).first)
        #expect(r.lines[0].hasPrefix("insmod: page allocation failure: order:10, mode:0x820(GFP_ATOMIC), nodemask=(null)"))
        // gfp_zone(GFP_ATOMIC) is ZONE_NORMAL: HighMem is not listed.
        #expect(!r.lines.contains { $0.contains("HighMem free:") || $0.hasPrefix("HighMem: ") })
        // No CONFIG_NUMA on x86_32 without PAE: no "Node 0 " before zone lines...
        #expect(r.lines.contains { $0.hasPrefix("Normal free:") })
        #expect(!r.lines.contains { $0.hasPrefix("Node 0 Normal") })
        // ...but the per-node line is printed "Node %d" either way.
        #expect(r.lines.contains { $0.hasPrefix("Node 0 active_anon:") && $0.hasSuffix(" all_unreclaimable? no") })
        let freeList = try #require(r.lines.first { $0.hasPrefix("Normal: ") })
        #expect(freeList.contains("kB (M) ") || freeList.hasPrefix("Normal: 0*4kB 0*8kB"))
        #expect(r.lines.last == "0 pages hwpoisoned")
        // 6.12's frame names (__alloc_pages_noprof since 6.10).
        #expect(r.lines.contains { $0.hasPrefix(" warn_alloc+0x") })
        #expect(r.lines.contains { $0.hasPrefix(" __alloc_pages_noprof+0x") })
        // The totals still count every populated zone (__show_mem()).
        let highPresent = m.zones.filter { $0.type == .highmem }.reduce(0) { $0 + $1.present }
        #expect(r.lines.contains("\(highPresent) pages HighMem/MovableOnly"))
    }

    @Test func x86_64FailureHasNodePrefixes_showMemShowNode() throws {
        let m = try testMachine(.x86_64, ram: 256 << 20)
        let r = try #require(try atomicFailure(m).first)
        #expect(r.lines.contains { $0.hasPrefix("Node 0 DMA32 free:") })
        #expect(r.lines.contains { $0.hasPrefix("Node 0 DMA32: ") })
        #expect(r.lines.contains { $0.hasPrefix("Node 0 active_anon:") && $0.contains(" anon_thp:0kB ") })
    }

    @Test func warnAllocPrintsOncePer10SecondsOfSimulatedTime_nopageRs() throws {
        let m = try testMachine(.x86_64, ram: 256 << 20)
        #expect(try atomicFailure(m, attempts: 5).count == 1)
        m.advanceClock(nanoseconds: 9_000_000_000)
        _ = try m.allocPages(.atomic, order: 10)
        #expect(m.reports(.allocationFailure).count == 1)
        m.advanceClock(nanoseconds: 1_000_000_000)
        _ = try m.allocPages(.atomic, order: 10)
        #expect(m.reports(.allocationFailure).count == 2)
        #expect(m.log.text.contains("] warn_alloc: 5 callbacks suppressed\n"))
    }
}

/// printk time stamps follow simulated time from the module's load, a few
/// seconds after power-on, as on a real machine.
@Suite struct DmesgTimeTests {
    @Test func bootLinesAreAtZeroAndTheScriptRunsSecondsLater_printkTime() throws {
        let m = try Machine(config: MachineConfig())
        let lines = m.log.lines
        #expect(lines.first?.hasPrefix("[    0.000000] Linux version 6.12.0 ") == true)
        #expect(lines.contains("[    4.812337] kmlab: loading out-of-tree module taints kernel."))
        try m.msleep(1500)
        m.printk("after")
        #expect(m.log.lines.last == "[    6.312337] after")
    }
}

/// Era 2.6 prints what 2.6.18 printed.
@Suite struct Era26FormatTests {
    @Test func bannerAndMemoryLineOf2618_initVersionAndMemInit() throws {
        let m = try Machine(config: MachineConfig(era: .v2_6))
        let text = m.log.text
        #expect(text.contains("] Linux version 2.6.18 (kmlab@kmlab) (gcc version 4.1.1) #1 SMP PREEMPT\n"))
        #expect(!text.contains("PREEMPT_DYNAMIC"))
        let memory = try #require(m.log.lines.first { $0.contains("] Memory: ") })
        #expect(memory.hasSuffix("k highmem)") && memory.contains("k reserved, ") && !memory.contains("rodata"))
    }

    /// arch/i386/kernel/setup.c print_memory_map() (" %s: %016Lx - %016Lx ",
    /// end exclusive) and mm/page_alloc.c's per-zone lines of 2.6.18.
    @Test func e820AndZoneLinesOf2618_printMemoryMapAndZonePcpInit() throws {
        let m = try Machine(config: MachineConfig(ram: 1 << 30, era: .v2_6))
        let lines = m.log.lines.map { String($0.drop { $0 != "]" }.dropFirst(2)) }
        #expect(lines.contains(" BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)"))
        #expect(lines.contains(" BIOS-e820: 000000000009fc00 - 00000000000a0000 (reserved)"))
        #expect(lines.contains(" BIOS-e820: 0000000000100000 - 0000000040000000 (usable)"))
        #expect(lines.contains("On node 0 totalpages: 262144"))
        #expect(lines.contains("  DMA zone: 4096 pages, LIFO batch:0"))
        #expect(lines.contains("  Normal zone: 225280 pages, LIFO batch:31"))
        #expect(lines.contains("  HighMem zone: 32768 pages, LIFO batch:7"))
        #expect(!lines.contains("Zone ranges:"))
        #expect(!lines.contains { $0.contains("[mem ") })
        // zone_batchsize(): always 2^n - 1, at most 31 (512 KiB / 4 of pages, rounded down).
        for pages in stride(from: UInt64(0), to: 1 << 22, by: 9973) {
            let b = Machine.lifoBatch26(presentPages: pages)
            #expect(b >= 0 && b <= 31 && (b + 1) & b == 0, "\(pages)")
        }
    }

    /// arch/i386/mm/fault.c no_context and arch/i386/kernel/traps.c die()/
    /// show_registers() of 2.6.18.
    @Test func nullDereferenceOopsOf2618_i386FaultAndDie() throws {
        let m = try testMachine(era: .v2_6)
        var thrown: KernelOops?
        do { try m.write(8, bytes: [1]) } catch let e as KernelOops { thrown = e }
        let r = try #require(thrown).report
        #expect(r.kind == .nullPointerDereference)
        #expect(r.lines[0] == "BUG: unable to handle kernel NULL pointer dereference at virtual address 00000008")
        #expect(r.lines[1] == " printing eip:")
        #expect(r.lines[2].count == 8 && UInt64(r.lines[2], radix: 16) != nil)
        #expect(r.lines[3].hasPrefix("*pde = "))
        let oops = try #require(r.lines.firstIndex(of: "Oops: 0002 [#1]"))
        #expect(r.lines[oops + 1] == "PREEMPT SMP ")
        #expect(r.lines[oops + 2] == "Modules linked in: kmlab")
        #expect(r.lines[oops + 3] == "CPU:    0")
        #expect(r.lines[oops + 4] == "EIP:    0060:[<\(r.lines[2])>]    Not tainted VLI")
        #expect(r.lines[oops + 5] == "EFLAGS: 00010246   (2.6.18 #1) ")
        #expect(r.lines[oops + 6].hasPrefix("EIP is at "))
        #expect(!r.lines.contains { $0.hasPrefix("#PF:") || $0.hasPrefix("CPU: 0 UID:") })
    }

    @Test func mightSleepPrintsOnlyTheTwoFlags_sched2618MightSleep() throws {
        let m = try testMachine(era: .v2_6)
        try m.spinLock(m.spinLockInit(name: "&l"))
        m.mightSleep(file: "mm/slab.c", line: 2903)
        let r = try #require(m.reports(.sleepingInAtomic).first)
        #expect(r.lines[0] == "BUG: sleeping function called from invalid context at mm/slab.c:2903")
        #expect(r.lines[1] == "in_atomic():1, irqs_disabled():0")
    }

    /// KASAN (4.0) and kmemleak (2.6.31) did not exist in 2.6.18: kmlab
    /// keeps them on era 2.6, as the design allows, and says so under their
    /// reports; 6.x prints no such line.
    @Test(arguments: [Era.v2_6, .v6])
    func debugFacilitiesLaterThan2618SaySo_kasanAndKmemleak(era: Era) throws {
        let m = try testMachine(era: era)
        let p = try #require(try m.kmalloc(10, .kernel))
        try m.memset(p, 0xEE, 32)
        _ = m.reportLeaks()
        let kasan = try #require(m.log.reports.first { $0.headline.hasPrefix("BUG: KASAN:") })
        let kasanNote = "kmlab: KASAN came in Linux 4.0; a 2.6.18 kernel would have printed nothing here"
        #expect((kasan.lines.last == kasanNote) == (era == .v2_6))
        #expect(m.log.text.contains("] kmlab: kmemleak came in Linux 2.6.31; a 2.6.18 kernel would have printed nothing here\n") == (era == .v2_6))
        #expect(m.log.text.contains("] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n"))
        // 6.12's allocator names (the _noprof suffix of 6.10's allocation profiling).
        #expect(try m.proc("/sys/kernel/debug/kmemleak").contains("] __kmalloc_noprof+0x"))
    }

    @Test func orderAboveMaxReturnsNullWithoutAWarning_allocPagesNode2618() throws {
        let m = try testMachine(era: .v2_6)
        #expect(try m.allocPages(.kernel, order: 11) == nil)
        #expect(m.log.reports.isEmpty)
    }
}
