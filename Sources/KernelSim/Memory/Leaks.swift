/// One allocation still alive (the registry behind kmemleak).
import SeededRandom

public struct LiveAllocation: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case kmalloc
        case kmallocLarge = "kmalloc-large"
        case vmalloc
        case pages
    }

    public var address: UInt64
    /// Bytes as kmemleak reports them: the cache's object size for slab
    /// objects, whole pages for vmalloc areas, the requested size otherwise.
    public var size: Int
    /// The size the caller asked for.
    public var requestedSize: Int
    public var kind: Kind
    public var cache: String?
    public var order: Int?
    public var pid: Int
    public var comm: String
    /// `callTrace()` at allocation time, innermost first.
    public var callTrace: [String]
    public var timeNanoseconds: UInt64
    /// Allocation order (1, 2, 3, ... over the machine's life).
    public var sequence: UInt64
    /// An object of a kmem_cache_create cache (kmemleak's backtrace then
    /// starts at kmem_cache_alloc, not __kmalloc).
    public var dedicatedCache = false
}

extension Machine {
    /// Every live allocation made through the kernel API, oldest first:
    /// slab objects, large kmallocs, vmalloc areas and alloc_pages blocks.
    public func liveAllocations() -> [LiveAllocation] {
        var out: [LiveAllocation] = []
        for c in slab.caches where c.inuse > 0 {
            for si in 0..<c.slabState.count where c.slabState[si] != 0 {
                for o in 0..<Int(c.slabObjects[si]) {
                    let idx = si * c.objsPerSlab + o
                    let req = Int(c.objReq[idx])
                    if req < 0 { continue }
                    let i = c.objInfo[idx]
                    out.append(LiveAllocation(address: c.slabAddr[si] &+ UInt64(o * c.size), size: c.objectSize,
                                              requestedSize: req, kind: .kmalloc, cache: c.name, order: nil,
                                              pid: Int(i.pid), comm: interned.comms[Int(i.commId)], callTrace: interned.traces[Int(i.traceId)], timeNanoseconds: i.time,
                                              sequence: i.seq, dedicatedCache: c.created))
                }
            }
        }
        for (pfn, i) in largeKmallocs {
            out.append(LiveAllocation(address: layout.pageOffset &+ (pfn << 12), size: i.size, requestedSize: i.size,
                                      kind: .kmallocLarge, cache: nil, order: Int(phys.frame(pfn).order),
                                      pid: Int(i.pid), comm: interned.comms[Int(i.commId)], callTrace: interned.traces[Int(i.traceId)], timeNanoseconds: i.time,
                                      sequence: i.seq))
        }
        for a in vm.areas where !a.kernelOwned {
            // kmemleak_vmalloc(area, PAGE_ALIGN(size), gfp) in __vmalloc_node_range():
            // kmemleak knows the area by its whole pages.
            let tracked = (a.requested + 4095) & ~4095
            out.append(LiveAllocation(address: a.start, size: tracked, requestedSize: a.requested, kind: .vmalloc,
                                      cache: nil, order: nil, pid: Int(a.info.pid), comm: interned.comms[Int(a.info.commId)],
                                      callTrace: interned.traces[Int(a.info.traceId)], timeNanoseconds: a.info.time, sequence: a.info.seq))
        }
        for (pfn, i) in pageAllocations {
            let addr = pfn < layout.maxLowPfn ? layout.pageOffset &+ (pfn << 12) : pfn << 12
            out.append(LiveAllocation(address: addr, size: i.size, requestedSize: i.size, kind: .pages, cache: nil,
                                      order: Int(phys.frame(pfn).order), pid: Int(i.pid), comm: interned.comms[Int(i.commId)],
                                      callTrace: interned.traces[Int(i.traceId)], timeNanoseconds: i.time, sequence: i.seq))
        }
        return out.sorted { $0.sequence < $1.sequence }
    }

    /// jiffies at a simulated time (HZ = 250, INITIAL_JIFFIES = -300 * HZ).
    public func jiffies(at ns: UInt64) -> UInt64 { 4_294_892_296 &+ ns / 4_000_000 }

    /// kmemleak's scan: the objects kmemleak tracks (slab objects, large
    /// kmallocs, vmalloc areas) that no root and no referenced object
    /// points into. `roots` are addresses still held elsewhere (the
    /// script's variables, if the caller knows them).
    public func kmemleakReports(roots: [UInt64] = []) -> [KernelReport] {
        // vfree_atomic() called kmemleak_free() already for areas that wait
        // for the workqueue.
        let forgotten = Set(vm.areas.filter(\.kmemleakFreed).map(\.start))
        let objects = liveAllocations().filter { $0.kind != .pages && !($0.kind == .vmalloc && forgotten.contains($0.address)) }
        // Each scanned word is looked up by address (a search of the list
        // per word made the scan quadratic: 28 s for 10^5 referenced objects).
        var byAddress: [UInt64: Int] = [:]
        byAddress.reserveCapacity(objects.count)
        for (i, o) in objects.enumerated() where byAddress[o.address] == nil { byAddress[o.address] = i }
        var referenced = Set<UInt64>()
        var gray: [LiveAllocation] = []
        func object(containing p: UInt64) -> LiveAllocation? {
            if let o = kmallocObject(containing: p), o.allocated {
                return byAddress[o.address].map { objects[$0] }
            }
            if layout.isVmallocAddr(p), let a = vm.area(containing: p) {
                return byAddress[a.start].map { objects[$0] }
            }
            return nil
        }
        for r in roots {
            if let o = object(containing: r), !referenced.contains(o.address) {
                referenced.insert(o.address)
                gray.append(o)
            }
        }
        let ptr = layout.pointerSize
        while let o = gray.popLast() {
            let n = min(o.size, 1 << 20) / ptr * ptr
            guard n > 0, let bytes = try? readQuiet(o.address, n) else { continue }
            var i = 0
            while i + ptr <= bytes.count {
                var v: UInt64 = 0
                for k in 0..<ptr { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
                if let t = object(containing: v), !referenced.contains(t.address) {
                    referenced.insert(t.address)
                    gray.append(t)
                }
                i += ptr
            }
        }
        return objects.filter { !referenced.contains($0.address) }.map(leakReport)
    }

    /// Leaks the end-of-run scan prints in full before its summary line.
    public static let leaksPrintedInFull = 5

    /// Runs the scan as kmemleak_scan() (mm/kmemleak.c) ends one: the log
    /// gets one line, `kmemleak: N new suspected memory leaks (see
    /// /sys/kernel/debug/kmemleak)`, and the objects are listed in that file.
    /// (The kernel prints them to the log only with kmemleak.verbose; kmlab
    /// prints the first `leaksPrintedInFull`, so a run shows what leaked
    /// without a wall of reports.) Returns every leak found.
    @discardableResult
    public func reportLeaks(roots: [UInt64] = []) -> [KernelReport] {
        let reports = kmemleakReports(roots: roots)
        lastKmemleakScan = reports
        if reports.isEmpty { return [] }
        for r in reports.prefix(Machine.leaksPrintedInFull) { raise(r) }
        printk("kmemleak: \(reports.count) new suspected memory leaks (see /sys/kernel/debug/kmemleak)")
        if let note = anachronism("kmemleak", since: "2.6.31") { printk(note) }
        return reports
    }

    /// /sys/kernel/debug/kmemleak: the objects the last scan found, or a
    /// scan now (without roots) before any.
    func kmemleakFile() -> String {
        (lastKmemleakScan ?? kmemleakReports()).map { $0.text + "\n" }.joined()
    }

    /// print_unreferenced() (mm/kmemleak.c).
    func leakReport(_ o: LiveAllocation) -> KernelReport {
        var l = ["unreferenced object 0x\(hexPad(o.address, 8)) (size \(o.size)):",
                 "  comm \"\(o.comm)\", pid \(o.pid), jiffies \(jiffies(at: o.timeNanoseconds))"]
        let n = min(o.size, 32)
        let bytes = (try? readQuiet(o.address, min(o.size, 1 << 20))) ?? []
        l.append("  hex dump (first \(n) bytes):")
        var i = 0
        while i < n && i < bytes.count {
            let row = Array(bytes[i..<min(i + 16, n, bytes.count)])
            var s = row.map { hexPad(UInt64($0), 2) }.joined(separator: " ")
            s = rpad(s, 49)
            s += String(row.map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "." })
            l.append("    " + s)
            i += 16
        }
        l.append("  backtrace (crc \(String(crc32(bytes), radix: 16))):")
        let first: String
        switch o.kind {
        // 6.12's names: the allocators gained a _noprof suffix in 6.10
        // (alloc_hooks for memory allocation profiling).
        case .kmalloc: first = symbol(o.dedicatedCache ? "kmem_cache_alloc_noprof" : "__kmalloc_noprof")
        case .kmallocLarge: first = symbol("__kmalloc_large_node_noprof")
        case .vmalloc: first = symbol("__vmalloc_node_range_noprof")
        case .pages: first = symbol("__alloc_pages_noprof")
        }
        let frames = [first] + (o.callTrace.isEmpty ? [symbol("init_module", module: "kmlab")] : o.callTrace)
        for (k, f) in frames.enumerated() {
            let name = f.drop { $0 == " " }
            let addr = k == 0 ? fakeTextAddress(String(name)) : fakeModuleAddress(String(name))
            l.append("    [<\(px(addr))>] \(name)")
        }
        return KernelReport(kind: .memoryLeak, severity: .warning, lines: l, address: o.address, size: o.size,
                            cache: o.cache, context: contexts.contextName,
                            fields: ["kind": o.kind.rawValue, "comm": o.comm, "pid": String(o.pid)])
    }

    func fakeTextAddress(_ s: String) -> UInt64 {
        let h = SplitMix64.mix(UInt64(truncatingIfNeeded: s.hashValueStable)) & 0x7F_FFF0
        return (layout.arch == .x86_64 ? 0xFFFF_FFFF_8100_0000 : 0xC100_0000) + h
    }

    func fakeModuleAddress(_ s: String) -> UInt64 {
        let h = SplitMix64.mix(UInt64(truncatingIfNeeded: s.hashValueStable)) & 0xF_FFF0
        return (layout.arch == .x86_64 ? 0xFFFF_FFFF_C000_0000 : 0xF880_0000) + h
    }

    /// Reads kernel memory without the MMU, KASAN or counters (kmemleak's
    /// own view: direct map and vmalloc areas only).
    func readQuiet(_ addr: UInt64, _ n: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var done = 0
        try out.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            while done < n {
                let a = addr &+ UInt64(done)
                let len = min(4096 - Int(a & 4095), n - done)
                let pfn: UInt64
                if layout.isDirectMap(a) {
                    pfn = (a &- layout.pageOffset) >> 12
                } else if let w = walk(a).paddr {
                    pfn = w >> 12
                } else {
                    throw KernelArgumentError("kmemleak", "address", "not mapped")
                }
                phys.read(pfn, Int(a & 4095), len, into: base + done)
                done += len
            }
        }
        return out
    }
}

/// CRC-32 (IEEE), as crc32() in lib/crc32.c is used by kmemleak.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

extension String {
    /// A hash that is the same in every run (Swift's hashValue is seeded).
    var hashValueStable: Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h)
    }
}
