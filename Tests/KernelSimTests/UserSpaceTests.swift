import Testing
@testable import KernelSim

/// The user address space: anonymous mappings backed lazily
/// (mm/memory.c do_anonymous_page), munmap, /proc/self/maps
/// (fs/proc/task_mmu.c), access_ok and the uaccess copies
/// (include/linux/uaccess.h).
@Suite struct UserSpaceTests {
    @Test func mallocReservesAndTheFirstTouchFaultsAPageIn() throws {
        let m = Machine()
        let faults = m.stats.pageFaults
        let u = try #require(m.userMalloc(3 * 4096))
        #expect(m.userSpace.residentPages == 0 && m.stats.pageFaults == faults)
        try m.userWrite(u + 4096, bytes: [1, 2, 3])
        #expect(m.userSpace.residentPages == 1 && m.stats.pageFaults == faults + 1)
        #expect(try m.userRead(u + 4096, count: 3) == [1, 2, 3])
        #expect(m.stats.pageFaults == faults + 1)
        #expect(try m.userRead(u, count: 2) == [0, 0])  // a fresh anonymous page is zero
        #expect(m.userPageCount == 2)
        try m.userFree(u)
        #expect(m.userSpace.residentPages == 0 && m.userPageCount == 0)
        #expect(throws: ContextError.self) { try m.userFree(u) }
    }

    @Test func freedRangesAreReusedTopDown() throws {
        let m = Machine()
        let a = try #require(m.userMalloc(4096))
        let b = try #require(m.userMalloc(4096))
        #expect(a == 0xb7ef_f000 && b == 0xb7ef_e000)
        try m.userFree(a)
        #expect(m.userMalloc(100) == a)
        #expect(m.userMalloc(1 << 31) == nil)
    }

    @Test func x86_64UserSpaceLivesBelowTheCanonicalHole() throws {
        let m = try Machine(config: MachineConfig(arch: .x86_64))
        let u = try #require(m.userMalloc(10))
        #expect(u == 0x7fff_f7fe_f000)
        #expect(m.accessOk(u, 10) && !m.accessOk(0xffff_8880_0000_0000, 8))
        #expect(m.accessOk(0x7fff_ffff_e000, 4096) && !m.accessOk(0x7fff_ffff_e000, 4097))
        #expect(m.procSelfMaps().contains("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"))
    }

    @Test func accessOkIsTheTaskSizeCheck() {
        let m = Machine()
        #expect(m.accessOk(0xbfff_f000, 4096))
        #expect(!m.accessOk(0xbfff_f000, 4097))
        #expect(!m.accessOk(0xc000_1000, 1))
        #expect(!m.accessOk(0, -1))
        #expect(m.accessOk(0, 0))
    }

    @Test func aKworkerHasNoUserMemory() throws {
        let m = Machine()
        let u = try #require(m.userMalloc(64))
        let k = try #require(try m.kzalloc(64, .kernel))
        var left = -1
        _ = m.scheduleWork(WorkItem(name: "w") { left = try m.copyToUser(u, from: k, count: 64) })
        try m.flushScheduledWork()
        #expect(left == 64)
        #expect(m.userSpace.residentPages == 0)
        #expect(m.log.reports.isEmpty)
    }

    @Test func copyToUserStopsAtTheEndOfTheArea() throws {
        let m = Machine()
        let u = try #require(m.userMalloc(4096))
        let k = try #require(try m.kmalloc(8192, .kernel))
        // 100 bytes fit before the area ends; nothing is mapped after it
        #expect(try m.copyToUser(u + 3996, from: k, count: 300) == 200)
        #expect(try m.copyToUser(u, from: k, count: 0) == 0)
    }

    /// Random malloc/touch/free sequences (fixed seed): every touched page
    /// is one user frame, and freeing everything gives them all back.
    @Test func randomUseKeepsFramesAccountedFor() throws {
        let m = Machine()
        var rng: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        var live: [UInt64: Int] = [:]
        for _ in 0..<400 {
            switch next() % 3 {
            case 0:
                let n = Int(next() % 20_000)
                if let u = m.userMalloc(n) { live[u] = max(n, 1) }
            case 1:
                if let (u, n) = live.sorted(by: { $0.key < $1.key }).first(where: { _ in next() % 2 == 0 }) {
                    try m.userWrite(u + next() % UInt64(n), bytes: [7])
                }
            default:
                if let u = live.keys.sorted().first(where: { _ in next() % 3 == 0 }) {
                    try m.userFree(u)
                    live[u] = nil
                }
            }
            #expect(m.userSpace.residentPages == m.userPageCount)
        }
        for u in live.keys.sorted() { try m.userFree(u) }
        #expect(m.userPageCount == 0 && m.userSpace.residentPages == 0)
        #expect(m.userSpace.areas.count == 3)
    }
}
