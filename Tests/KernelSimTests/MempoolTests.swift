import Testing
@testable import KernelSim
import SeededRandom

/// mm/mempool.c: the allocator first, the reserve only when it fails,
/// NULL for atomic callers with an empty reserve, a wait for sleeping ones.
@Suite struct MempoolTests {
    func machine(failslab: String? = nil) throws -> Machine {
        var c = MachineConfig(bootMessages: false)
        c.failslab = failslab
        return try Machine(config: c)
    }

    @Test func createFillsTheReserveAndAllocTriesTheAllocatorFirst() throws {
        let m = try machine()
        let pool = try #require(try m.mempoolCreate(minNr: 4, kind: .kmalloc(size: 200)))
        #expect(pool.currNr == 4 && pool.minNr == 4)
        let e = try #require(try m.mempoolAlloc(pool, .atomic))
        #expect(pool.currNr == 4, "the allocator served it; the reserve is untouched")
        #expect(pool.reserveHits == 0)
        try m.mempoolFree(e, pool)
        #expect(pool.currNr == 4, "reserve full: the element went back to kfree")
        try m.mempoolDestroy(pool)
        #expect(m.liveAllocations().isEmpty)
    }

    /// failslab makes every atomic slab allocation fail: the reserve serves
    /// min_nr of them, then an atomic caller gets NULL.
    @Test func theReserveServesWhenTheAllocatorFailsThenAtomicGetsNull() throws {
        let m = try machine(failslab: "1,100,0,-1")
        _ = m.writeFile("/sys/kernel/debug/failslab/verbose", "0")
        let pool = try #require(try m.mempoolCreate(minNr: 3, kind: .kmalloc(size: 64)))
        var got: [MempoolElement] = []
        for _ in 0..<3 { got.append(try #require(try m.mempoolAlloc(pool, .atomic))) }
        #expect(pool.currNr == 0 && pool.reserveHits == 3)
        #expect(try m.mempoolAlloc(pool, .atomic) == nil)
        // The injected failures were quiet: mempool adds __GFP_NOWARN.
        #expect(!m.log.text.contains("FAULT_INJECTION"))
        for e in got { try m.mempoolFree(e, pool) }
        #expect(pool.currNr == 3)
    }

    @Test func aSleepingCallerWithNothingToWaitForIsReported() throws {
        let m = try machine(failslab: "1,100,0,-1")
        _ = m.writeFile("/sys/kernel/debug/failslab/ignore-gfp-wait", "N")
        _ = m.writeFile("/sys/kernel/debug/failslab/verbose", "0")
        let pool = try #require(try m.mempoolCreate(minNr: 0, kind: .kmalloc(size: 64)))
        #expect(throws: KernelOops.self) { try m.mempoolAlloc(pool, .kernel) }
        let r = try #require(m.log.reports.last)
        #expect(r.kind == .hungTask)
        #expect(r.headline.contains("would wait for ever in mempool_alloc"))
        #expect(r.text.contains("io_schedule_timeout"))
    }

    @Test func pagePoolsHandOutPagesAndSlabPoolsObjects() throws {
        let m = try machine()
        let pp = try #require(try m.mempoolCreate(minNr: 2, kind: .pages(order: 1)))
        guard case .page(let pfn)? = try m.mempoolAlloc(pp, .kernel) else { Issue.record("no page"); return }
        try m.mempoolFree(.page(pfn: pfn), pp)
        try m.mempoolDestroy(pp)
        let cache = try #require(try m.kmemCacheCreate(name: "pool_objs", size: 96, align: 0, flags: 0, ctor: nil))
        let sp = try #require(try m.mempoolCreate(minNr: 5, kind: .slab(cache)))
        #expect(sp.currNr == 5)
        #expect(try m.proc("/proc/slabinfo").contains("pool_objs"))
        try m.mempoolDestroy(sp)
        try m.kmemCacheDestroy(cache)
        #expect(m.liveAllocations().isEmpty)
        #expect(m.log.reports.isEmpty)
    }

    @Test func resizeShrinksAndGrows() throws {
        let m = try machine()
        let pool = try #require(try m.mempoolCreate(minNr: 4, kind: .kmalloc(size: 32)))
        #expect(try m.mempoolResize(pool, 2) == 0)
        #expect(pool.minNr == 2 && pool.currNr == 2)
        #expect(try m.mempoolResize(pool, 6) == 0)
        #expect(pool.minNr == 6 && pool.currNr == 6)
        #expect(throws: KernelArgumentError.self) { try m.mempoolResize(pool, 0) }
        try m.mempoolDestroy(pool)
        #expect(throws: KernelArgumentError.self) { try m.mempoolAlloc(pool, .kernel) }
        #expect(m.liveAllocations().isEmpty)
    }

    /// A failed prefill frees what it got and returns nil.
    @Test func createFailsCleanlyWhenTheReserveCannotBeFilled() throws {
        let m = try machine()
        var calls = 0
        let pool = try m.mempoolCreate(minNr: 5, kind: .custom(alloc: { gfp in
            calls += 1
            if calls > 3 { return nil }
            return try m.kmalloc(16, gfp).map { .address($0) }
        }, free: { e in
            if case .address(let p) = e { try m.kfree(p) }
        }))
        #expect(pool == nil)
        #expect(m.liveAllocations().isEmpty)
    }

    /// Property: whatever the sequence, elements in reserve never exceed
    /// min_nr and every element handed out is distinct.
    @Test func randomUseKeepsTheReserveBounded() throws {
        let m = try machine(failslab: "1,50,0,-1")
        _ = m.writeFile("/sys/kernel/debug/failslab/verbose", "0")
        let pool = try #require(try m.mempoolCreate(minNr: 4, kind: .kmalloc(size: 128)))
        var rng = SplitMix64(seed: 5)
        var held: [MempoolElement] = []
        for _ in 0..<500 {
            if rng.below(2) == 0, let e = try m.mempoolAlloc(pool, .atomic) {
                #expect(!held.contains(e))
                held.append(e)
            } else if !held.isEmpty {
                try m.mempoolFree(held.remove(at: Int(rng.below(UInt64(held.count)))), pool)
            }
            #expect(pool.currNr <= pool.minNr)
        }
        for e in held { try m.mempoolFree(e, pool) }
        try m.mempoolDestroy(pool)
        #expect(m.liveAllocations().isEmpty)
    }
}
