import Testing
@testable import KernelSim
import SeededRandom

/// vmalloc's first fit through the hole index must choose exactly what a
/// scan of every area from the bottom chooses (addresses are in reports).
@Suite struct VmallocHoleIndexTests {
    /// The scan the index replaced: the lowest hole of `size` bytes in [lo, hi).
    static func scan(_ areas: [VmArea], _ size: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64? {
        var addr = lo
        for a in areas {
            if a.start >= addr && a.start - addr >= size { break }
            addr = max(addr, a.end)
        }
        guard addr <= hi, hi - addr >= size else { return nil }
        return addr
    }

    @Test(arguments: [1, 2, 3, 99] as [UInt64])
    func firstFitMatchesAScanOfEveryArea(seed: UInt64) {
        let lo: UInt64 = 0x1000_0000, hi: UInt64 = 0x1100_0000
        let space = VmallocSpace(base: lo)
        var rng = SplitMix64(seed: seed)
        var live: [VmArea] = []
        var id: Int32 = 1
        for _ in 0..<3000 {
            if live.isEmpty || rng.below(3) != 0 {
                let size = (rng.below(8) + 2) << 12
                let want = Self.scan(space.areas, size, lo, hi)
                let got = space.findHole(size, hi)
                #expect(got == want)
                guard let start = got else { continue }
                let a = VmArea(id: id, start: start, size: size, requested: Int(size) - 4096, pages: [],
                               caller: "test", info: AllocInfo())
                id += 1
                space.insert(a)
                live.append(a)
            } else {
                let a = live.remove(at: Int(rng.below(UInt64(live.count))))
                space.remove(a)
            }
        }
        #expect(space.areas.count == live.count)
        // Every size, once more, against the final layout.
        for pages in 1...16 {
            #expect(space.findHole(UInt64(pages) << 12, hi) == Self.scan(space.areas, UInt64(pages) << 12, lo, hi))
        }
    }

    /// A space too small for the request: no hole, as before.
    @Test func aFullSpaceHasNoHole() {
        let space = VmallocSpace(base: 0x1000)
        #expect(space.findHole(0x2000, 0x2000) == nil)
        #expect(space.findHole(0x1000, 0x2000) == 0x1000)
    }
}
