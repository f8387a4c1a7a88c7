import Testing
@testable import KernelSim
import SeededRandom

/// Zeroing memory must not cost host memory the budget does not see: a
/// chunk (4 MiB) whose every frame is zero shares one read-only table of
/// frame buffers, so a memset of zeroes over the largest range a script can
/// name leaves at most the tables of its two partial ends, and every table
/// a chunk does own is counted against the contents limit.
@Suite struct ZeroingHostMemoryTests {
    /// The largest buffer a script can get (vmalloc of most of RAM),
    /// zeroed with one memset: every chunk it covers whole drops its table
    /// (free pages are KASAN-poisoned, so a memset over all of RAM is
    /// refused before it writes; an allocation is what a script can zero).
    @Test(arguments: [Arch.x86_64, .x86_32])
    func zeroingTheLargestBufferStoresAlmostNothing(arch: Arch) throws {
        // (Small enough for a debug build's vmalloc; the ratio is the point.)
        let m = try testMachine(arch, ram: 512 << 20)
        let size = arch == .x86_64 ? 256 << 20 : 96 << 20 // x86_32: most of its 120 MiB vmalloc area
        let v = try #require(try m.vmalloc(size))
        let before = m.contentsBytesStored
        try m.memset(v, 0, size)
        for probe in [v, v + UInt64(size / 2), v + UInt64(size) - 16] {
            #expect(try m.read(probe, count: 16) == [UInt8](repeating: 0, count: 16))
        }
        // Chunks shared with other allocations keep a table each: a handful,
        // not one per 4 MiB covered, and counted.
        let tables = m.phys.contents.filter { $0 != nil && $0 != PhysicalMemory.zeroTable }.count
        #expect(tables <= 8, "\(tables) chunk tables")
        #expect(m.contentsBytesStored <= before + 8 * PhysicalMemory.tableBytes,
                "stored \(m.contentsBytesStored - before) bytes more")
    }

    /// Frame by frame, in a random order, with a write in between now and
    /// then: what reads back is right, and the stored bytes are exactly the
    /// written frames plus one table per chunk that is neither untouched
    /// nor all zero.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func storedBytesFollowTheChunksThatAreNotAllZero(seed: UInt64) throws {
        let phys = PhysicalMemory(totalPages: 4 * 1024, seed: seed, limit: 1 << 30)
        var rng = SplitMix64(seed: seed)
        var model = [UInt8?](repeating: nil, count: 4 * 1024) // nil: garbage, else the byte all over
        for _ in 0..<8_000 {
            let pfn = Int(rng.next() % 4096)
            if rng.next() % 8 == 0 {
                let byte = UInt8(truncatingIfNeeded: rng.next() | 1)
                try phys.fill(UInt64(pfn), 0, byte, 4096)
                model[pfn] = byte
            } else {
                try phys.fill(UInt64(pfn), 0, 0, 4096)
                model[pfn] = 0
            }
        }
        var expected = 0
        for c in 0..<4 {
            let frames = model[(c * 1024)..<((c + 1) * 1024)]
            let written = frames.filter { $0 != nil && $0 != 0 }.count
            let allZero = frames.allSatisfy { $0 == 0 }
            let untouched = frames.allSatisfy { $0 == nil }
            expected += written * 4096 + (allZero || untouched ? 0 : PhysicalMemory.tableBytes)
        }
        #expect(phys.storedBytes == expected)
        for pfn in 0..<4096 {
            if let b = model[pfn] { #expect(phys.readByte(UInt64(pfn), Int(rng.next() % 4096)) == b) }
        }
    }

    /// Zeroing one frame in every chunk needs a table per chunk: past the
    /// contents limit that is refused like any other write.
    @Test func partialZeroingMeetsTheContentsLimit() throws {
        let phys = PhysicalMemory(totalPages: 64 * 1024, seed: 1, limit: 10 * PhysicalMemory.tableBytes)
        var refused = false
        for c in 0..<64 {
            do { try phys.fill(UInt64(c * 1024), 0, 0, 4096) } catch is SimulatorLimitError { refused = true; break }
        }
        #expect(refused)
        #expect(phys.storedBytes <= 10 * PhysicalMemory.tableBytes)
    }
}
