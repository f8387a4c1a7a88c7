import Testing
@testable import KernelSim
import SeededRandom

private func machine(cpus: Int, era: Era = .v6) throws -> Machine {
    var c = MachineConfig(era: era, bootMessages: false)
    c.cpus = cpus
    return try Machine(config: c)
}

/// SLUB's per-CPU slabs (mm/slub.c): each CPU allocates from its own slab
/// through its lockless freelist (struct kmem_cache_cpu); an object freed
/// on a CPU whose slab it is not in goes to the slab's own freelist
/// (__slab_free), which the owning CPU takes over only when its freelist
/// runs out (___slab_alloc, get_freelist).
@Suite struct PerCpuSlabTests {
    @Test func anObjectFreedOnAnotherCPUIsNotTheNextOneThisCPUAllocates_slabFree() throws {
        let m = try machine(cpus: 2)
        let p = try #require(try m.kmalloc(64, .kernel))
        try m.workOnCPU(1) { try m.kfree(p) }
        let q = try #require(try m.kmalloc(64, .kernel))
        #expect(q != p)
        // CPU 1 allocates from a slab of its own, not CPU 0's.
        let r = try m.workOnCPU(1) { try m.kmalloc(64, .kernel) }
        #expect(r != nil && r != p)
        // Freed on CPU 0 itself, it is (LIFO).
        try m.kfree(q)
        #expect(try m.kmalloc(64, .kernel) == q)
        #expect(m.checkInvariants() == [])
    }

    @Test func oneCPUHandsTheLastFreedObjectBack() throws {
        let m = try machine(cpus: 1)
        let p = try #require(try m.kmalloc(64, .kernel))
        try m.workOnCPU(0) { try m.kfree(p) }
        #expect(try m.kmalloc(64, .kernel) == p)
    }

    @Test func theOwnerTakesTheRemoteFreesOverWhenItsFreelistRunsOut_getFreelist() throws {
        let m = try machine(cpus: 2)
        let p = try #require(try m.kmalloc(64, .kernel))
        try m.workOnCPU(1) { try m.kfree(p) }
        // CPU 0 allocates until p comes back: it must, before any new slab.
        let slabsBefore = m.stats.slabsCreated
        var got: [UInt64] = []
        while got.last != p && got.count < 4096 {
            got.append(try #require(try m.kmalloc(64, .kernel)))
            #expect(m.stats.slabsCreated == slabsBefore || got.last == p)
        }
        #expect(got.last == p)
        #expect(Set(got).count == got.count)
        #expect(m.checkInvariants() == [])
    }

    @Test func era26KeepsOneSlabForAllCPUs() throws {
        let m = try machine(cpus: 2, era: .v2_6)
        let p = try #require(try m.kmalloc(64, .kernel))
        try m.workOnCPU(1) { try m.kfree(p) }
        #expect(try m.kmalloc(64, .kernel) == p)
    }

    /// Random allocations and frees on random CPUs, kmalloc and a cache of
    /// our own: no live object is handed out twice, every freed object is
    /// accounted for, and the slab counters and freelists stay consistent.
    @Test(arguments: [2, 3, 8])
    func randomCPUsNeverHandOutALiveObject(cpus: Int) throws {
        let m = try machine(cpus: cpus)
        let cache = try #require(try m.kmemCacheCreate(name: "percpu_test", size: 120, align: 0, flags: 0, ctor: nil))
        var rng = SplitMix64(seed: 0x5100_0000 + UInt64(cpus))
        var live: [UInt64: Bool] = [:]          // address -> from the cache
        var order: [UInt64] = []
        for step in 0..<3000 {
            let cpu = Int(rng.below(UInt64(cpus)))
            if order.isEmpty || rng.below(100) < 55 {
                let fromCache = rng.below(2) == 0
                let p = try m.workOnCPU(cpu) {
                    fromCache ? try m.kmemCacheAlloc(cache, .kernel) : try m.kmalloc(Int(rng.below(100)) + 29, .kernel)
                }
                let addr = try #require(p)
                #expect(live[addr] == nil, "step \(step): \(addr) handed out while live")
                live[addr] = fromCache
                order.append(addr)
            } else {
                let i = Int(rng.below(UInt64(order.count)))
                let addr = order.remove(at: i)
                let fromCache = live.removeValue(forKey: addr) ?? false
                try m.workOnCPU(cpu) {
                    if fromCache { try m.kmemCacheFree(cache, addr) } else { try m.kfree(addr) }
                }
            }
            if step % 500 == 0 { #expect(m.checkInvariants() == []) }
        }
        #expect(m.log.reports.isEmpty)
        #expect(m.checkInvariants() == [])
        // /proc/slabinfo's active objects of the cache: the ones still live.
        let line = try #require(try m.proc("/proc/slabinfo").split(separator: "\n").first { $0.hasPrefix("percpu_test ") })
        let active = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        let liveInCache = live.values.filter { $0 }.count
        #expect(active.map { $0 >= liveInCache } == true)
        for (addr, fromCache) in live {
            if fromCache { try m.kmemCacheFree(cache, addr) } else { try m.kfree(addr) }
        }
        #expect(m.checkInvariants() == [])
        try m.kmemCacheDestroy(cache)
        #expect(m.log.reports.isEmpty)
    }
}
