import Testing
@testable import KernelSim
import SeededRandom

/// kmem_cache_create and friends: SLUB's geometry (mm/slab_common.c
/// calculate_alignment, mm/slub.c calculate_sizes / calculate_order), the
/// constructor, the debugging patterns, destroy and wrong-cache frees.
@Suite struct SlabCacheTests {
    func machine(_ arch: Arch = .x86_64) throws -> Machine {
        try Machine(config: MachineConfig(arch: arch, bootMessages: false))
    }

    struct Geometry: CustomStringConvertible, Sendable {
        var size: Int, align: Int, flags: UInt32, ctor: Bool
        var slot: Int, perSlab: Int, order: Int
        var description: String { "size \(size) align \(align) flags 0x\(String(flags, radix: 16)) ctor \(ctor)" }
    }

    /// Worked by hand from calculate_sizes() for x86_64 (8-byte pointers).
    static let geometries: [Geometry] = [
        Geometry(size: 100, align: 0, flags: 0, ctor: false, slot: 104, perSlab: 39, order: 0),
        Geometry(size: 100, align: 0, flags: SlabFlags.hwcacheAlign, ctor: false, slot: 128, perSlab: 32, order: 0),
        Geometry(size: 20, align: 0, flags: SlabFlags.hwcacheAlign, ctor: false, slot: 32, perSlab: 128, order: 0),
        Geometry(size: 100, align: 0, flags: SlabFlags.poison, ctor: false, slot: 112, perSlab: 36, order: 0),
        Geometry(size: 100, align: 0, flags: 0, ctor: true, slot: 112, perSlab: 36, order: 0),
        Geometry(size: 100, align: 0, flags: SlabFlags.redZone, ctor: false, slot: 120, perSlab: 34, order: 0),
        Geometry(size: 64, align: 0, flags: SlabFlags.redZone, ctor: false, slot: 88, perSlab: 46, order: 0),
        Geometry(size: 3, align: 0, flags: 0, ctor: false, slot: 8, perSlab: 512, order: 0),
        Geometry(size: 100, align: 256, flags: 0, ctor: false, slot: 256, perSlab: 16, order: 0),
        // 704-byte slots: 8 objects need order 1, where 8192 % 704 = 448 wastes less than 1/16.
        Geometry(size: 700, align: 0, flags: 0, ctor: false, slot: 704, perSlab: 11, order: 1),
    ]

    @Test(arguments: geometries)
    func geometryIsSlubs(g: Geometry) throws {
        let m = try machine()
        let h = try #require(try m.kmemCacheCreate(name: "test_cache", size: g.size, align: g.align, flags: g.flags,
                                                   ctor: g.ctor ? { _ in } : nil))
        let info = try #require(m.cacheInfo(h))
        #expect(info.objectSize == g.size)
        #expect(info.size == g.slot)
        #expect(info.objectsPerSlab == g.perSlab)
        #expect(info.order == g.order)
        #expect(try m.kmemCacheSize(h) == g.size)
    }

    @Test func slabinfoHasTheCachesOwnLineUntilDestroyed() throws {
        let m = try machine()
        let h = try #require(try m.kmemCacheCreate(name: "my_cache", size: 100, align: 0, flags: SlabFlags.hwcacheAlign, ctor: nil))
        let p = try #require(try m.kmemCacheAlloc(h, .kernel))
        let line = try #require(try m.proc("/proc/slabinfo").split(separator: "\n").first { $0.hasPrefix("my_cache ") })
        let fields = line.split(separator: " ")
        // name active num objsize objperslab pagesperslab
        #expect(Array(fields[1...5]) == ["32", "32", "128", "32", "1"])
        try m.kmemCacheFree(h, p)
        try m.kmemCacheDestroy(h)
        #expect(!(try m.proc("/proc/slabinfo")).contains("my_cache "))
        #expect(throws: KernelArgumentError.self) { try m.kmemCacheAlloc(h, .kernel) }
        #expect(throws: KernelArgumentError.self) { try m.kmemCacheSize(h) }
    }

    @Test func constructorRunsOncePerObjectWhenTheSlabIsPopulated() throws {
        let m = try machine()
        var constructed: [UInt64] = []
        let h = try #require(try m.kmemCacheCreate(name: "ctor_cache", size: 256, align: 0, flags: 0,
                                                   ctor: { constructed.append($0) }))
        let per = try #require(m.cacheInfo(h)).objectsPerSlab
        let p = try #require(try m.kmemCacheAlloc(h, .kernel))
        #expect(constructed.count == per)
        #expect(constructed.first == p)
        try m.kmemCacheFree(h, p)
        for _ in 0..<per { _ = try m.kmemCacheAlloc(h, .kernel) }
        #expect(constructed.count == per, "no constructor call for reused objects")
        _ = try m.kmemCacheAlloc(h, .kernel)
        #expect(constructed.count == 2 * per, "a second slab is constructed whole")
        #expect(Set(constructed).count == constructed.count)
    }

    @Test func poisonFillsFreeObjectsAndRedZonesSurroundThem() throws {
        let m = try machine()
        let h = try #require(try m.kmemCacheCreate(name: "poisoned", size: 100, align: 0,
                                                   flags: SlabFlags.poison | SlabFlags.redZone, ctor: nil))
        let p = try #require(try m.kmemCacheAlloc(h, .kernel))
        let bytes = try m.read(p, count: 100)
        #expect(bytes.dropLast().allSatisfy { $0 == 0x6b } && bytes.last == 0xa5)
        try m.memset(p, 0x41, 100)
        try m.kmemCacheFree(h, p)
        let again = try #require(try m.kmemCacheAlloc(h, .kernel))
        #expect(again == p)
        #expect(try m.read(p, count: 100).dropLast().allSatisfy { $0 == 0x6b })
        #expect(m.log.reports.isEmpty)
        // Reading the red zone is an out-of-bounds access for KASAN.
        _ = try? m.readByte(p &+ 100)
        #expect(m.reports(.slabOutOfBounds).count == 1)
        let zeroed = try #require(try m.kmemCacheAlloc(h, GFP.kernel.union(.zero)))
        #expect(try m.read(zeroed, count: 100).allSatisfy { $0 == 0 })
    }

    @Test func destroyWithLiveObjectsWarnsAndKeepsTheCache() throws {
        let m = try machine()
        let h = try #require(try m.kmemCacheCreate(name: "leaky", size: 64, align: 0, flags: 0, ctor: nil))
        let p = try #require(try m.kmemCacheAlloc(h, .kernel))
        try m.kmemCacheDestroy(h)
        let r = try #require(m.log.reports.last)
        #expect(r.headline.hasPrefix("kmem_cache_destroy leaky: Slab cache still has objects when called from"))
        #expect(r.text.contains("WARNING: CPU: 0 PID:"))
        #expect(r.text.contains("mm/slab_common.c"))
        #expect(r.text.contains("Call Trace:"))
        #expect((try m.proc("/proc/slabinfo")).contains("leaky "))
        #expect(m.liveAllocations().contains { $0.address == p && $0.cache == "leaky" && $0.size == 64 })
        try m.kmemCacheFree(h, p)
        try m.kmemCacheDestroy(h)
        #expect(m.cacheInfo(h)?.destroyed == true)
    }

    @Test func freeingToTheWrongCacheWarnsAndFreesToTheRightOne() throws {
        let m = try machine()
        let a = try #require(try m.kmemCacheCreate(name: "cache_a", size: 64, align: 0, flags: 0, ctor: nil))
        let b = try #require(try m.kmemCacheCreate(name: "cache_b", size: 64, align: 0, flags: 0, ctor: nil))
        let p = try #require(try m.kmemCacheAlloc(b, .kernel))
        try m.kmemCacheFree(a, p)
        let r = try #require(m.log.reports.last)
        #expect(r.headline == "cache_from_obj: Wrong slab cache. cache_a but object is from cache_b")
        #expect(!m.liveAllocations().contains { $0.address == p })
        // A kmalloc object freed to a cache: the same warning, naming kmalloc-64.
        let k = try #require(try m.kmalloc(50, .kernel))
        try m.kmemCacheFree(a, k)
        #expect(m.log.reports.last?.headline == "cache_from_obj: Wrong slab cache. cache_a but object is from kmalloc-64")
        // Double free: KASAN.
        try m.kmemCacheFree(b, p)
        #expect(m.reports(.doubleFree).count == 1)
    }

    @Test func badCreationsFailAsTheKernelDoes() throws {
        let m = try machine()
        #expect(try m.kmemCacheCreate(name: "zero", size: 0, align: 0, flags: 0, ctor: nil) == nil)
        #expect(m.log.text.contains("kmem_cache_create(zero) failed with error -22"))
        #expect(try m.kmemCacheCreate(name: "huge", size: 8 << 20, align: 0, flags: 0, ctor: nil) == nil)
        #expect(m.log.text.contains("kmem_cache_create(huge) integrity check failed"))
        #expect(try m.kmemCacheCreate(name: "weird", size: 64, align: 0, flags: 0x1, ctor: nil) == nil)
        #expect(throws: KernelOops.self) {
            try m.kmemCacheCreate(name: "vital", size: 0, align: 0, flags: SlabFlags.panic, ctor: nil)
        }
        #expect(m.log.text.contains("Kernel panic - not syncing: kmem_cache_create: Failed to create slab 'vital'. Error -22"))
        let old = try Machine(config: MachineConfig(era: .v2_6, bootMessages: false))
        #expect(throws: KernelArgumentError.self) { try old.kmemCacheCreate(name: "x", size: 64, align: 0, flags: 0, ctor: nil) }
    }

    @Test func failslabCoversCacheAllocations() throws {
        var c = MachineConfig(bootMessages: false)
        c.failslab = "1,100,0,-1"
        let m = try Machine(config: c)
        let h = try #require(try m.kmemCacheCreate(name: "fragile", size: 64, align: 0, flags: 0, ctor: nil))
        #expect(try m.kmemCacheAlloc(h, .atomic) == nil)
        #expect(m.log.text.contains("kmem_cache_alloc+"))
        #expect(try m.kmemCacheAlloc(h, .kernel) != nil)
    }

    /// Random allocation and free sequences keep the slab invariants and
    /// every live object inside its own slot.
    @Test(arguments: [Arch.x86_32, Arch.x86_64])
    func randomUseKeepsInvariants(arch: Arch) throws {
        let m = try machine(arch)
        var rng = SplitMix64(seed: 9)
        let flagChoices: [UInt32] = [0, SlabFlags.hwcacheAlign, SlabFlags.poison, SlabFlags.redZone,
                                     SlabFlags.poison | SlabFlags.redZone]
        var caches: [CacheHandle] = []
        for i in 0..<4 {
            let flags = flagChoices[Int(rng.below(UInt64(flagChoices.count)))]
            caches.append(try #require(try m.kmemCacheCreate(name: "c\(i)", size: 1 + Int(rng.below(600)),
                                                              align: [0, 16, 64][Int(rng.below(3))], flags: flags, ctor: nil)))
        }
        var live: [(CacheHandle, UInt64)] = []
        for _ in 0..<2000 {
            if live.isEmpty || rng.below(3) != 0 {
                let h = caches[Int(rng.below(UInt64(caches.count)))]
                if let p = try m.kmemCacheAlloc(h, .kernel) {
                    let info = try #require(m.cacheInfo(h))
                    #expect(p % UInt64(min(info.align, 4096)) == 0 || info.align > 4096)
                    live.append((h, p))
                }
            } else {
                let (h, p) = live.remove(at: Int(rng.below(UInt64(live.count))))
                try m.kmemCacheFree(h, p)
            }
        }
        #expect(m.log.reports.isEmpty)
        #expect(Set(live.map { $0.1 }).count == live.count)
        #expect(m.checkInvariants().isEmpty)
        for (h, p) in live { try m.kmemCacheFree(h, p) }
        for h in caches { try m.kmemCacheDestroy(h) }
        #expect(m.log.reports.isEmpty)
    }
}
