import Testing
@testable import KernelSim
import SeededRandom

/// Randomized sequences of allocations, frees, accesses and bad arguments
/// across kmalloc, vmalloc and alloc_pages, with the allocator invariants
/// (Memory/Invariants.swift) checked after every step. Fixed seeds.
@Suite struct MemoryPropertyTests {
    struct Live {
        enum Kind { case kmalloc, vmalloc, pages, freePagesAddress }
        var kind: Kind
        var address: UInt64
        var size: Int
        var order: Int
    }

    /// One random run; returns the number of steps that raised a report.
    func run(arch: Arch, ram: UInt64, era: Era, fragmented: Bool, seed: UInt64, steps: Int) throws {
        let m = try testMachine(arch, ram: ram, era: era, seed: seed, fragmented: fragmented)
        var rng = SplitMix64(seed: seed)
        var live: [Live] = []
        var freed: [Live] = []
        let gfps: [GFP] = [.kernel, .atomic, .nowait, [.kernel, .zero], [.kernel, .dma], [.kernel, .highmem],
                           .highuser, [.kernel, .nowarn], [.atomic, .nowarn], [.kernel, .dma32]]
        func pick<T>(_ a: [T]) -> T { a[Int(rng.below(UInt64(a.count)))] }
        #expect(m.checkInvariants() == [])
        for step in 0..<steps {
            let op = rng.below(16)
            let what: String
            do {
                switch op {
                case 0, 1, 2:
                    let size = Int(pick([0, 1, 8, 24, 96, 100, 192, 300, 4096, 5000, 8192, 8193, 70_000, 1 << 20,
                                         (4 << 20) + 1, Int(rng.below(20_000))]))
                    what = "kmalloc(\(size))"
                    if let p = try m.kmalloc(size, pick(gfps)), p > 16 { live.append(Live(kind: .kmalloc, address: p, size: size, order: 0)) }
                case 3:
                    let size = Int(rng.below(300_000))
                    what = "vmalloc(\(size))"
                    if let p = try m.vmalloc(size) { live.append(Live(kind: .vmalloc, address: p, size: size, order: 0)) }
                case 4, 5:
                    let order = Int(rng.below(12))
                    what = "alloc_pages(\(order))"
                    if let p = try m.allocPages(pick(gfps), order: order) {
                        live.append(Live(kind: .pages, address: p.pfn, size: 4096 << order, order: order))
                    }
                case 6:
                    let order = Int(rng.below(4))
                    what = "__get_free_pages(\(order))"
                    if let a = try m.getFreePages(pick(gfps), order: order) {
                        live.append(Live(kind: .freePagesAddress, address: a, size: 4096 << order, order: order))
                    }
                case 7, 8, 9:
                    guard !live.isEmpty else { what = "nothing"; break }
                    let i = Int(rng.below(UInt64(live.count)))
                    let l = live.remove(at: i)
                    what = "free \(l.kind) \(hex(l.address))"
                    switch l.kind {
                    case .kmalloc: try m.kfree(l.address)
                    case .vmalloc: try m.vfree(l.address)
                    case .pages: try m.freePages(Page(pfn: l.address), order: l.order)
                    case .freePagesAddress: try m.freePagesAddress(l.address, order: l.order)
                    }
                    freed.append(l)
                case 10, 11:
                    guard !live.isEmpty else { what = "nothing"; break }
                    let l = pick(live)
                    what = "access \(l.kind) \(hex(l.address))"
                    switch l.kind {
                    case .kmalloc, .vmalloc, .freePagesAddress:
                        let n = max(1, min(l.size, 3000))
                        let reportsBefore = m.log.reportCount
                        try m.memset(l.address, UInt8(truncatingIfNeeded: step), n)
                        // A "bad free" above may have freed this object (its
                        // address was reused): KASAN's memset then reports
                        // and writes nothing (mm/kasan/shadow.c).
                        let reported = m.log.reportCount != reportsBefore
                        let back = try m.read(l.address, count: n)
                        if !reported {
                            #expect(back.allSatisfy { $0 == UInt8(truncatingIfNeeded: step) }, "\(what)")
                        } else {
                            let headline = m.log.reports(since: reportsBefore).first?.headline ?? ""
                            #expect(headline.hasPrefix("BUG: KASAN: "), "\(what): \(headline)")
                        }
                    case .pages:
                        let a = try m.kmapLocalPage(Page(pfn: l.address))
                        try m.writeByte(a, 0x5A)
                        #expect(try m.readByte(a) == 0x5A)
                        try m.kunmapLocal(a)
                    }
                case 12:
                    // Bad frees: double free, kfree of a vmalloc address, vfree of a kmalloc address, wrong order.
                    guard !freed.isEmpty else { what = "nothing"; break }
                    let f = pick(freed)
                    what = "bad free \(f.kind)"
                    switch f.kind {
                    case .kmalloc: try m.kfree(f.address)
                    case .vmalloc: try m.kfree(f.address)
                    case .pages: try m.freePages(Page(pfn: f.address), order: f.order + 1)
                    case .freePagesAddress: try m.vfree(f.address)
                    }
                case 13:
                    // Use after free / out of bounds reads: reported, never fatal to the host.
                    guard let f = freed.last else { what = "nothing"; break }
                    what = "stale read \(f.kind)"
                    if f.kind == .kmalloc { _ = try m.read(f.address, count: 8) }
                    if let l = live.first(where: { $0.kind == .kmalloc && $0.size > 0 }) {
                        _ = try m.read(l.address + UInt64(l.size), count: 4)
                    }
                case 14:
                    // Bad arguments the API refuses.
                    what = "bad arguments"
                    #expect(throws: KernelArgumentError.self) { try m.kmalloc(-1, .kernel) }
                    #expect(throws: KernelArgumentError.self) { try m.allocPages(.kernel, order: -1) }
                    #expect(throws: KernelArgumentError.self) { try m.freePages(Page(pfn: UInt64.max >> 1), order: 0) }
                    _ = try? m.kmallocArray(Int.max, Int.max, .kernel)
                    _ = try? m.ksize(0xDEAD_BEEF)
                    _ = try? m.vmallocToPfn(m.layout.vmallocStart + 0x1234)
                default:
                    what = "krealloc"
                    if let i = live.firstIndex(where: { $0.kind == .kmalloc }) {
                        let size = Int(rng.below(10_000)) + 1
                        if let q = try m.krealloc(live[i].address, size, .kernel) {
                            live[i].address = q
                            live[i].size = size
                        }
                    }
                }
            } catch is KernelOops {
                // An Oops ends the task; the machine stays consistent.
                continue
            }
            let bad = m.checkInvariants()
            #expect(bad == [], "step \(step) (\(what)), seed \(seed)")
            if !bad.isEmpty { return }
        }
        for l in live {
            switch l.kind {
            case .kmalloc: try m.kfree(l.address)
            case .vmalloc: try m.vfree(l.address)
            case .pages: try m.freePages(Page(pfn: l.address), order: l.order)
            case .freePagesAddress: try m.freePagesAddress(l.address, order: l.order)
            }
        }
        #expect(m.checkInvariants() == [])
        #expect(m.liveAllocations().isEmpty)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func x86_32RandomSequencesKeepTheInvariants(seed: UInt64) throws {
        try run(arch: .x86_32, ram: 64 << 20, era: .v6, fragmented: seed == 2, seed: seed, steps: 400)
    }

    @Test(arguments: [UInt64(4), 5])
    func x86_64RandomSequencesKeepTheInvariants(seed: UInt64) throws {
        try run(arch: .x86_64, ram: 128 << 20, era: .v6, fragmented: seed == 5, seed: seed, steps: 400)
    }

    @Test func era26RandomSequencesKeepTheInvariants() throws {
        try run(arch: .x86_32, ram: 64 << 20, era: .v2_6, fragmented: false, seed: 6, steps: 300)
    }

    @Test func freeCountsMatchBuddyinfoOnEveryZone() throws {
        let m = try testMachine(seed: 9, fragmented: true)
        for z in m.zones where z.populated {
            let counts = try m.buddyinfoCounts(z.name)
            #expect(counts == Array(z.nrFree))
            #expect(counts.enumerated().reduce(0) { $0 + ($1.element << $1.offset) } == z.freePages)
        }
    }
}
