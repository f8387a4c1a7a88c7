import Testing
@testable import KernelSim

private func smpMachine(_ cpus: Int, _ arch: Arch = .x86_32, seed: UInt64 = 0) throws -> Machine {
    var c = MachineConfig(arch: arch, seed: seed, bootMessages: false)
    c.cpus = cpus
    return try Machine(config: c)
}

/// CPUs, IPIs and the lazy purge of freed vmap areas: mm/vmalloc.c
/// (lazy_max_pages, free_vmap_area_noflush, __purge_vmap_area_lazy),
/// arch/x86/mm/tlb.c (flush_tlb_kernel_range), kernel/smp.c
/// (smp_call_function_single), kernel/workqueue.c (work_on_cpu).
@Suite struct SmpShootdownTests {
    @Test func lazyMaxPagesIsFlsOfTheCpuCountTimes32MiB_mmVmallocLazyMaxPages() throws {
        for (cpus, fls) in [(1, 1), (2, 2), (3, 2), (4, 3), (8, 4), (64, 7)] {
            #expect(try smpMachine(cpus).lazyMaxPages == UInt64(fls) * 8192, "cpus=\(cpus)")
        }
    }

    @Test func bootRefusesCpuCountsOutsideOneTo64() throws {
        for bad in [0, -1, 65, 1000] {
            var c = MachineConfig()
            c.cpus = bad
            #expect(throws: BootError.self) { try Machine(config: c) }
        }
    }

    @Test func oneCpuVfreeFlushesAtOnceAndTheRangeIsReusedAtOnce() throws {
        let m = try smpMachine(1)
        let p = try #require(try m.vmalloc(4 * 4096))
        try m.vfree(p)
        #expect(try m.vmalloc(4 * 4096) == p)
        #expect(m.stats.ipis == 0 && m.stats.tlbShootdowns == 0)
        #expect(m.lazilyFreedPages == 0)
    }

    @Test func twoCpusVfreeLeavesVmallocinfoButKeepsTheRangeUntilThePurge_freeVmapAreaNoflush() throws {
        let m = try smpMachine(2)
        let p = try #require(try m.vmalloc(4 * 4096))
        try m.write(p, bytes: [1, 2, 3])                 // CPU 0's TLB now maps the area
        _ = try m.workOnCPU(1) { try m.read(p, count: 1) } // and so does CPU 1's
        try m.vfree(p)
        #expect(!(try m.proc("/proc/vmallocinfo")).contains("0x" + String(p, radix: 16) + "-"))
        #expect(m.lazilyFreedPages == 5)                   // four pages and the guard page
        #expect(m.anyTLBTranslates(from: p, to: p + 4 * 4096))   // stale, until the purge
        let q = try #require(try m.vmalloc(4 * 4096))
        #expect(q >= p + 5 * 4096)                         // the range is not handed out again
        let before = m.contexts.callInterrupts(cpu: 1)
        m.vmUnmapAliases()
        #expect(m.contexts.callInterrupts(cpu: 1) == before + 1)
        #expect(m.stats.tlbShootdowns == 1)
        #expect(!m.anyTLBTranslates(from: p, to: p + 5 * 4096))
        #expect(m.lazilyFreedPages == 0)
        try m.vfree(q)
        m.vmUnmapAliases()
        #expect(try m.vmalloc(4 * 4096) == p)              // purged: free again
        #expect(m.checkInvariants() == [])
    }

    @Test func era26VfreeFlushesEveryCpuAtOnce_vunmap2618() throws {
        var c = MachineConfig(era: .v2_6, bootMessages: false)
        c.cpus = 4
        let m = try Machine(config: c)
        let p = try #require(try m.vmalloc(2 * 4096))
        _ = try m.workOnCPU(2) { try m.read(p, count: 1) }
        try m.vfree(p)
        #expect(m.stats.ipis == 3 && m.stats.tlbShootdowns == 3)
        #expect(!m.anyTLBTranslates(from: p, to: p + 3 * 4096))
        #expect(m.lazilyFreedPages == 0)
        #expect(try m.vmalloc(2 * 4096) == p)
    }

    @Test func aPurgeWithNothingLazyFlushesNothing_vmUnmapAliases() throws {
        let m = try smpMachine(4)
        m.vmUnmapAliases()
        #expect(m.stats.ipis == 0 && m.stats.tlbFlushes == 0)
    }

    @Test func runningOutOfVmallocSpacePurgesAndRetries_allocVmapArea() throws {
        // 8 CPUs: lazy_max_pages is 128 MiB, more than x86_32's vmalloc area,
        // so only running out of address space purges.
        let m = try smpMachine(8)
        #expect(m.lazyMaxPages << 12 > m.layout.vmallocEnd - m.layout.vmallocStart)
        var purgesSeen = 0
        for _ in 0..<40 {
            let before = m.stats.tlbShootdowns
            let p = try #require(try m.vmalloc(4 << 20))
            try m.vfree(p)
            if m.stats.tlbShootdowns > before { purgesSeen += 1 }
        }
        #expect(purgesSeen >= 1)
        #expect(m.stats.tlbShootdowns == UInt64(purgesSeen) * 7)
        #expect(m.log.reports.isEmpty)
    }

    /// Property: after any sequence of vmalloc, vfree, accesses from any CPU,
    /// cross-CPU calls and explicit purges, on 2, 3 or 8 CPUs, (1) no CPU's
    /// TLB translates an address of a purged range, (2) no vmalloc hands out
    /// a range still waiting for its purge, and (3) ipis and tlb_shootdowns
    /// equal a model of the kernel's rules: a purge when the lazily freed
    /// pages exceed lazy_max_pages() or on vm_unmap_aliases(), each purge one
    /// IPI and one remote flush per other CPU, each cross-CPU call one IPI.
    @Test(arguments: [(2, UInt64(1)), (3, 2), (8, 3), (2, 4), (8, 5)])
    func noPurgedRangeSurvivesInAnyTlbAndCountsMatchTheModel(cpus: Int, seed: UInt64) throws {
        let m = try smpMachine(cpus, .x86_64, seed: seed)
        var rng = SplitMix(seed)
        var live: [(UInt64, Int)] = []
        var lazyRanges: [(UInt64, UInt64)] = []
        var purged: [(UInt64, UInt64)] = []
        var lazyPages: UInt64 = 0
        var ipis: UInt64 = 0, shootdowns: UInt64 = 0
        func purge() {
            guard !lazyRanges.isEmpty else { return }
            ipis += UInt64(cpus - 1)
            shootdowns += UInt64(cpus - 1)
            purged += lazyRanges
            lazyRanges.removeAll()
            lazyPages = 0
        }
        for _ in 0..<400 {
            switch rng.next() % 6 {
            case 0, 1:
                let pages = Int(rng.next() % 512) + 1
                let p = try #require(try m.vmalloc(pages * 4096))
                #expect(!lazyRanges.contains { p < $0.1 && p + UInt64(pages) * 4096 > $0.0 })
                purged.removeAll { p < $0.1 && p + UInt64(pages + 1) * 4096 > $0.0 }
                live.append((p, pages))
            case 2, 3:
                guard !live.isEmpty else { continue }
                let (p, pages) = live.remove(at: Int(rng.next() % UInt64(live.count)))
                try m.vfree(p)
                lazyRanges.append((p, p + UInt64(pages + 1) * 4096))
                lazyPages += UInt64(pages + 1)
                if lazyPages > m.lazyMaxPages { purge() }
            case 4:
                guard !live.isEmpty else { continue }
                let (p, pages) = live[Int(rng.next() % UInt64(live.count))]
                let cpu = Int(rng.next() % UInt64(cpus))
                let va = p + (rng.next() % UInt64(pages)) * 4096
                if cpu == 0 {
                    _ = try m.read(va, count: 8)
                } else if rng.next() % 2 == 0 {
                    _ = try m.workOnCPU(cpu) { try m.read(va, count: 8) }
                } else {
                    try m.smpCallFunctionSingle(cpu: cpu, wait: true) { _ = try m.read(va, count: 8) }
                    ipis += 1
                }
            default:
                if rng.next() % 4 == 0 {
                    m.vmUnmapAliases()
                    purge()
                }
            }
            for (s, e) in purged { #expect(!m.anyTLBTranslates(from: s, to: e)) }
            #expect(m.stats.ipis == ipis)
            #expect(m.stats.tlbShootdowns == shootdowns)
            #expect(m.lazilyFreedPages == lazyPages)
        }
        #expect(m.log.reports.isEmpty)
        #expect(m.checkInvariants() == [])
    }

    @Test func aCallToTheSameCpuRunsWithIrqsOffAndSendsNoIpi_genericExecSingle() throws {
        let m = try smpMachine(2)
        var seen: (Int, Bool, String)?
        let r = try m.smpCallFunctionSingle(cpu: 0, wait: true) {
            seen = (m.contexts.cpu, m.contexts.irqsDisabled, m.contexts.contextName)
        }
        #expect(r == 0)
        #expect(seen?.0 == 0 && seen?.1 == true && seen?.2 == "process")
        #expect(m.stats.ipis == 0 && !m.contexts.irqsDisabled && m.contexts.preemptCount == 0)
    }

    @Test func aCallToAnotherCpuRunsInHardirqThereAndCountsInItsCalColumn_smpCallFunctionSingle() throws {
        let m = try smpMachine(3)
        var seen: (Int, String, String, UInt32)?
        let r = try m.smpCallFunctionSingle(cpu: 2, wait: false) {
            seen = (m.contexts.cpu, m.contexts.contextName, m.contexts.currentComm, m.contexts.preemptCount)
        }
        #expect(r == 0)
        #expect(seen?.0 == 2 && seen?.1 == "hardirq" && seen?.2 == "swapper/2")
        #expect(seen?.3 == Preempt.hardirqOffset + 1)      // the idle task runs with preemption off
        #expect(m.contexts.cpu == 0 && m.contexts.current === m.contexts.scriptTask)
        #expect(m.contexts.callInterrupts(cpu: 2) == 1 && m.contexts.callInterrupts(cpu: 1) == 0)
        #expect(try m.smpCallFunctionSingle(cpu: 3, wait: true) { Issue.record("ran on an offline CPU") } == Errno.ENXIO.negated)
        #expect(try m.smpCallFunctionSingle(cpu: -1, wait: true) { Issue.record("ran on CPU -1") } == Errno.ENXIO.negated)
        let interrupts = try m.proc("/proc/interrupts")
        let cal = try #require(interrupts.split(separator: "\n").first { $0.hasPrefix("CAL:") })
        #expect(cal == "CAL:          0          0          1   Function call interrupts")
    }

    @Test func sleepingInAnIpiFunctionIsReportedWithThatCpu() throws {
        let m = try smpMachine(2)
        try m.smpCallFunctionSingle(cpu: 1, wait: true) {
            m.mightSleep(file: "test.c", line: 1)
        }
        let r = try #require(m.reports(.sleepingInAtomic).first)
        #expect(r.lines.contains { $0.hasPrefix("CPU: 1 UID: 0 PID: 0 Comm: swapper/1") })
        #expect(r.lines.contains("preempt_count: 10001, expected: 0"))
    }

    @Test func callingWithIrqsOffWarnsOnce_smpCallFunctionSingleDeadlockCheck() throws {
        let m = try smpMachine(2)
        m.localIrqDisable()
        try m.smpCallFunctionSingle(cpu: 1, wait: true) {}
        try m.smpCallFunctionSingle(cpu: 1, wait: true) {}
        #expect(m.reports(.warning).count == 1)
        #expect(m.reports(.warning).first?.lines.contains { $0.contains("WARNING: CPU: 0 PID: 412 at kernel/smp.c") } == true)
    }

    @Test func workOnCpuRunsInThatCpusKworkerInProcessContext_workOnCpuKey() throws {
        let m = try smpMachine(4)
        let (cpu, comm, ctx, canSleep) = try m.workOnCPU(3) {
            (m.contexts.cpu, m.contexts.currentComm, m.contexts.contextName, m.contexts.canSleep)
        }
        #expect(cpu == 3 && comm == "kworker/3:1" && ctx == "kworker" && canSleep)
        #expect(m.contexts.cpu == 0 && m.contexts.currentComm == "insmod")
        #expect(m.stats.ipis == 0)
        #expect(throws: KernelArgumentError.self) { try m.workOnCPU(4) { 0 } }
    }

    @Test func oneCpuInterruptsKeepTheirSingleColumn() throws {
        let m = try smpMachine(1)
        let text = try m.proc("/proc/interrupts")
        #expect(text.hasPrefix("           CPU0       \n"))
        #expect(text.contains("\nCAL:          0   Function call interrupts\n"))
    }

    @Test func smpProcessorIdInPreemptibleCodeIsTheDebugKernelsBug_checkPreemptionDisabled() throws {
        let m = try smpMachine(2)
        #expect(m.smpProcessorId() == 0)
        let r = try #require(m.log.reports.first)
        #expect(r.headline == "BUG: using smp_processor_id() in preemptible [00000000] code: insmod/412")
        let l = m.spinLockInit()
        try m.spinLock(l)
        #expect(m.smpProcessorId() == 0)
        try m.spinUnlock(l)
        #expect(try m.workOnCPU(1) { m.smpProcessorId() } == 1)   // a per-CPU kworker cannot move
        #expect(m.log.reports.count == 1)
    }
}

/// A small deterministic generator for the property test.
private struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
