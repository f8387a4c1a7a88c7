import Testing
@testable import KernelSim
import SeededRandom

/// The partial list must behave exactly as the array it replaced (append at
/// the tail, pop from the tail, remove the one occurrence wherever it is),
/// or allocation addresses, and so every report, would change.
@Suite struct SlabPartialListTests {
    @Test(arguments: [1, 2, 3, 42, 1234] as [UInt64])
    func behavesAsTheArrayModel(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var list = SlabPartialList()
        var model: [Int32] = []
        for _ in 0..<4000 {
            let id = Int32(rng.below(200))
            switch rng.below(50) == 0 ? 4 : rng.below(4) {
            case 4:
                model.removeAll()
                list.removeAll()
            case 0, 1:
                if !model.contains(id) { model.append(id) }
                list.append(id)
            case 2:
                #expect(list.popLast() == model.popLast())
            default:
                if let k = model.lastIndex(of: id) { model.remove(at: k) }
                list.remove(id)
            }
            #expect(list.count == model.count)
            #expect(list.contains(id) == model.contains(id))
        }
        #expect(Array(list) == model)
        #expect(!list.contains(-1) && !list.contains(100_000))
    }

    /// Frees that empty partial slabs in every order keep the allocator's
    /// invariants (the partial list agrees with each slab's state).
    @Test func freesInRandomOrderKeepTheInvariants() throws {
        let m = try testMachine(.x86_64, ram: 256 << 20)
        let liveBefore = m.liveAllocations().count
        var rng = SplitMix64(seed: 7)
        var live: [UInt64] = []
        for _ in 0..<3000 {
            if let p = try m.kmalloc(256, .kernel) { live.append(p) }
        }
        while !live.isEmpty {
            let k = Int(rng.below(UInt64(live.count)))
            try m.kfree(live.remove(at: k))
        }
        #expect(m.checkInvariants() == [])
        #expect(m.liveAllocations().count == liveBefore)
    }
}
