import Testing
@testable import KernelSim

/// kmalloc and friends: size classes of both eras (mm/slab_common.c
/// kmalloc_info, 2.6's include/linux/kmalloc_sizes.h), the fall-through to
/// the page allocator, KMALLOC_MAX_SIZE, LIFO reuse, zeroing, overflow checks.
@Suite struct MemorySlabTests {
    @Test func slubSizeClassesIncludeNinetySixAndOneNinetyTwo() throws {
        let m = try testMachine()
        let expected: [(Int, Int, String)] = [
            (1, 8, "kmalloc-8"), (8, 8, "kmalloc-8"), (9, 16, "kmalloc-16"), (17, 32, "kmalloc-32"),
            (33, 64, "kmalloc-64"), (65, 96, "kmalloc-96"), (96, 96, "kmalloc-96"), (97, 128, "kmalloc-128"),
            (129, 192, "kmalloc-192"), (192, 192, "kmalloc-192"), (193, 256, "kmalloc-256"),
            (257, 512, "kmalloc-512"), (513, 1024, "kmalloc-1k"), (1025, 2048, "kmalloc-2k"),
            (2049, 4096, "kmalloc-4k"), (4097, 8192, "kmalloc-8k"), (8192, 8192, "kmalloc-8k"),
        ]
        for (size, usable, cache) in expected {
            let p = try #require(try m.kmalloc(size, .kernel))
            #expect(try m.ksize(p) == usable, "ksize(kmalloc(\(size)))")
            #expect(m.pageInfo(try m.virtToPage(p))?.owner == "slab " + cache, "kmalloc(\(size))")
        }
        #expect(m.log.reports.isEmpty)
    }

    @Test func slab26SizeClassesGoUpTo128KiB() throws {
        let m = try testMachine(era: .v2_6)
        #expect(m.layout.kmallocMaxSize == 131072)
        let expected: [(Int, Int)] = [(1, 32), (32, 32), (33, 64), (65, 96), (97, 128), (129, 192), (193, 256),
                                      (257, 512), (4097, 8192), (8193, 16384), (65537, 131072), (131072, 131072)]
        for (size, usable) in expected {
            let p = try #require(try m.kmalloc(size, .kernel))
            #expect(try m.ksize(p) == usable, "ksize(kmalloc(\(size)))")
            #expect(m.pageInfo(try m.virtToPage(p))?.owner == "slab size-\(usable)")
        }
        #expect(try m.kmalloc(131073, .kernel) == nil)
        let names = try m.proc("/proc/slabinfo")
        for size in [32, 64, 96, 128, 192, 256, 131072] { #expect(names.contains("size-\(size) ")) }
        #expect(names.contains("size-32(DMA)"))
    }

    @Test func aboveKmallocMaxCacheSizeWholePagesOfGetOrder() throws {
        let m = try testMachine()
        #expect(m.layout.kmallocMaxCacheSize == 8192)
        for (size, order) in [(8193, 2), (12288, 2), (16384, 2), (16385, 3), (1 << 20, 8), (4 << 20, 10)] {
            let p = try #require(try m.kmalloc(size, .kernel))
            #expect(try m.ksize(p) == 4096 << order, "ksize(kmalloc(\(size)))")
            let info = try #require(m.pageInfo(try m.virtToPage(p)))
            #expect(info.owner == "kmalloc-large")
            #expect(info.order == order)
            #expect(p & 4095 == 0)
            try m.kfree(p)
        }
        #expect(m.log.reports.isEmpty)
        #expect(m.checkInvariants() == [])
    }

    @Test func aboveKmallocMaxSizeIsNilWithTheOrderWarningUnlessNowarn() throws {
        let m = try testMachine()
        #expect(m.layout.kmallocMaxSize == 4 << 20)
        #expect(try m.kmalloc((4 << 20) + 1, [.kernel, .nowarn]) == nil)
        #expect(m.log.reports.isEmpty)
        #expect(try m.kmalloc((4 << 20) + 1, .kernel) == nil)
        let w = m.log.reports
        #expect(w.count == 1)
        // mm/page_alloc.c __alloc_pages(): WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)
        #expect(w.first?.text.contains("WARNING: CPU: 0 PID:") == true)
        #expect(w.first?.text.contains("mm/page_alloc.c") == true)
        #expect(w.first?.text.contains("__alloc_pages") == true)
        // ... once.
        #expect(try m.kmalloc(8 << 20, .kernel) == nil)
        #expect(m.log.reports.count == 1)
    }

    @Test func kmallocZeroIsZeroSizePointer() throws {
        let m = try testMachine()
        #expect(try m.kmalloc(0, .kernel) == 16)
        #expect(try m.ksize(16) == 0)
        try m.kfree(16)
        try m.kfree(0)
        #expect(m.log.reports.isEmpty)
    }

    @Test func freedObjectsAreReusedLastInFirstOut() throws {
        let m = try testMachine()
        let a = try #require(try m.kmalloc(100, .kernel))
        let b = try #require(try m.kmalloc(100, .kernel))
        let c = try #require(try m.kmalloc(100, .kernel))
        #expect(b == a + 128 && c == b + 128)
        try m.kfree(a)
        try m.kfree(c)
        #expect(try m.kmalloc(120, .kernel) == c)
        #expect(try m.kmalloc(128, .kernel) == a)
        #expect(m.checkInvariants() == [])
    }

    @Test func kmallocHandsBackStaleDataAndKzallocZeroes() throws {
        let m = try testMachine()
        let p = try #require(try m.kmalloc(64, .kernel))
        let secret = Array("top secret password, do not leak".utf8)
        try m.write(p, bytes: secret)
        try m.kfree(p)
        let q = try #require(try m.kmalloc(64, .kernel))
        #expect(q == p)
        let stale = try m.read(q, count: 64)
        // The free pointer sits in the middle of the object (offset 32 for a 64-byte
        // object); the bytes before it are the old secret.
        #expect(Array(stale[0..<32]) == secret)
        try m.kfree(q)
        let z = try #require(try m.kzalloc(64, .kernel))
        #expect(z == p)
        #expect(try m.read(z, count: 64) == [UInt8](repeating: 0, count: 64))
        let g = try #require(try m.kzalloc(5000, .kernel))
        #expect(try m.read(g, count: 5000).allSatisfy { $0 == 0 })
    }

    @Test func freshMemoryIsDeterministicGarbageNotZero() throws {
        let a = try testMachine(seed: 7), b = try testMachine(seed: 7), c = try testMachine(seed: 8)
        let pa = try #require(try a.kmalloc(256, .kernel)), pb = try #require(try b.kmalloc(256, .kernel))
        let pc = try #require(try c.kmalloc(256, .kernel))
        let x = try a.read(pa, count: 16), y = try b.read(pb, count: 16), z = try c.read(pc, count: 16)
        #expect(x == y)
        #expect(x != z)
        #expect(x != [UInt8](repeating: 0, count: 16))
    }

    @Test func kcallocAndKmallocArrayOverflowIsNil() throws {
        let m = try testMachine()
        // size_t is 32 bits on x86_32.
        #expect(try m.kcalloc(0x4000_0000, 8, .kernel) == nil)
        #expect(try m.kmallocArray(0x1_0000, 0x1_0000, .kernel) == nil)
        #expect(m.log.reports.isEmpty)
        let p = try #require(try m.kcalloc(10, 10, .kernel))
        #expect(try m.ksize(p) == 128)
        #expect(try m.read(p, count: 100).allSatisfy { $0 == 0 })
        let m64 = try testMachine(.x86_64, ram: 1 << 30)
        #expect(try m64.kcalloc(Int.max, 2, .kernel) == nil)
        #expect(try m64.kcalloc(1 << 32, 8, [.kernel, .nowarn]) == nil)
        #expect(throws: KernelArgumentError.self) { try m.kcalloc(-1, 8, .kernel) }
        #expect(throws: KernelArgumentError.self) { try m.kmalloc(-1, .kernel) }
    }

    @Test func kreallocGrowsInPlaceThenMovesAndCopies() throws {
        let m = try testMachine()
        let p = try #require(try m.kmalloc(100, .kernel))
        try m.write(p, bytes: Array(0..<100))
        #expect(try m.krealloc(p, 120, .kernel) == p)
        let q = try #require(try m.krealloc(p, 300, .kernel))
        #expect(q != p)
        #expect(try m.ksize(q) == 512)
        #expect(try m.read(q, count: 100) == Array(0..<100))
        // p was freed: freeing it again is a double free.
        try m.kfree(p)
        #expect(m.reports(.doubleFree).count == 1)
        #expect(try m.krealloc(q, 0, .kernel) == 16)
        #expect(m.checkInvariants() == [])
    }

    @Test func highmemFlagOnKmallocIsFixedUpWithTheKernelsWarning() throws {
        let m = try testMachine()
        let p = try #require(try m.kmalloc(100, [.kernel, .highmem]))
        #expect(m.layout.isDirectMap(p))
        let r = try #require(m.reports(.unexpectedGfp).first)
        #expect(r.lines.first == "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). Fix your code!")
        #expect(r.text.contains("Call Trace:"))
        let big = try #require(try m.kmalloc(20000, [.kernel, .highmem]))
        #expect(m.pageInfo(try m.virtToPage(big))?.zone == "Normal")
    }

    @Test func gfpDmaKmallocComesFromDmaCachesInZoneDma() throws {
        let m = try testMachine()
        let p = try #require(try m.kmalloc(100, [.kernel, .dma]))
        let info = try #require(m.pageInfo(try m.virtToPage(p)))
        #expect(info.owner == "slab dma-kmalloc-128")
        #expect(info.zone == "DMA")
    }

    @Test func slabinfoHasTheKernelsHeaderAndCounts() throws {
        let m = try testMachine()
        var ps: [UInt64] = []
        for _ in 0..<40 { ps.append(try #require(try m.kmalloc(128, .kernel))) }
        let text = try m.proc("/proc/slabinfo")
        let lines = text.split(separator: "\n")
        #expect(lines[0] == "slabinfo - version: 2.1")
        #expect(lines[1] == "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>")
        let row = try #require(lines.first { $0.hasPrefix("kmalloc-128 ") })
        let f = row.split(separator: " ")
        // 40 objects: one full slab of 32 and a cpu slab with 8 in use; SLUB counts the cpu slab's objects as active.
        #expect(f[1] == "64" && f[2] == "64" && f[3] == "128" && f[4] == "32" && f[5] == "1")
        #expect(row.contains(": tunables    0    0    0 : slabdata      2      2      0"))
    }

    @Test func freeingAVmallocAddressWithKfreeIsAnInvalidFree() throws {
        let m = try testMachine()
        let v = try #require(try m.vmalloc(8192))
        try m.kfree(v)
        #expect(m.reports(.invalidFree).count == 1)
        #expect(m.checkInvariants() == [])
    }
}
