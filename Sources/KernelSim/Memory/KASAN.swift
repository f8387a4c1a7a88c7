/// The debug kernel's KASAN (generic mode, kasan_multi_shot): shadow values
/// computed from the allocator state, reports in mm/kasan/report.c's layout.
///
/// Shadow values (mm/kasan/kasan.h): 00 accessible, 01-07 partially
/// accessible granule, FF KASAN_PAGE_FREE, FE KASAN_PAGE_REDZONE, FC
/// KASAN_SLAB_REDZONE, FB KASAN_SLAB_FREE, FA KASAN_SLAB_FREETRACK, F8
/// KASAN_VMALLOC_INVALID. There is no quarantine: a freed object is reused
/// at once (LIFO), so use-after-free is caught until the object is reused.
extension Machine {
    /// The shadow byte of the 8-byte granule at `g`.
    func kasanShadow(_ gIn: UInt64) -> UInt8 {
        let g = gIn & ~UInt64(7)
        if layout.isDirectMap(g) {
            let pfn = (g &- layout.pageOffset) >> 12
            guard pfn < layout.totalPages else { return 0 }
            var f = phys.frame(pfn)
            var head = pfn
            if f.kind == Frame.freeHead || f.kind == Frame.freeTail { return 0xFF }
            if f.kind == Frame.allocTail {
                head = UInt64(f.a)
                f = phys.frame(head)
            }
            guard f.kind == Frame.allocHead else { return 0 }
            if f.owner == Owner.kmallocLarge {
                let off = Int(g &- (layout.pageOffset &+ (head << 12)))
                return granule(accessible: largeSize(head) - off, poison: 0xFE)
            }
            guard f.owner >= Owner.slabBase, Int(f.owner - Owner.slabBase) < slab.caches.count else { return 0 }
            let c = slab.caches[Int(f.owner - Owner.slabBase)]
            let si = Int(f.a)
            guard si < c.slabAddr.count, g >= c.slabAddr[si] else { return 0xFC }
            let off = Int(g &- c.slabAddr[si])
            let obj = off / c.size
            guard obj < Int(c.slabObjects[si]) else { return 0xFC }
            let within = off - obj * c.size
            let req = Int(c.objReq[si * c.objsPerSlab + obj])
            if req >= 0 { return granule(accessible: req - within, poison: 0xFC) }
            if req == -1 { return within < 8 ? 0xFA : 0xFB }
            return 0xFC
        }
        if layout.isVmallocAddr(g) {
            guard let a = vm.area(containing: g) else { return 0xF8 }
            return granule(accessible: a.requested - Int(g &- a.start), poison: 0xF8)
        }
        return 0
    }

    @inline(__always) private func granule(accessible: Int, poison: UInt8) -> UInt8 {
        if accessible >= 8 { return 0 }
        if accessible > 0 { return UInt8(accessible) }
        return poison
    }

    /// Does a page need a byte-exact look, or is it plain memory?
    private func pageNeedsCheck(_ va: UInt64) -> Bool {
        if layout.isDirectMap(va) {
            let pfn = (va &- layout.pageOffset) >> 12
            guard pfn < layout.totalPages else { return false }
            var f = phys.frame(pfn)
            if f.kind == Frame.freeHead || f.kind == Frame.freeTail { return true }
            if f.kind == Frame.allocTail { f = phys.frame(UInt64(f.a)) }
            return f.kind == Frame.allocHead && (f.owner >= Owner.slabBase || f.owner == Owner.kmallocLarge)
        }
        if layout.isVmallocAddr(va) {
            guard let a = vm.area(containing: va) else { return true }
            return (va | 4095) &+ 1 > a.start &+ UInt64(a.requested)
        }
        return false
    }

    /// The first byte of [va, va+n) KASAN considers bad, or nil.
    ///
    /// Only the part of the range up to its first unmapped byte (included)
    /// is looked at: the access faults there anyway, and past it there is
    /// no allocator state to check (KASAN's shadow of unmapped kernel
    /// addresses is the early zero shadow). So the work is bounded by the
    /// memory really mapped, whatever length a script passes.
    func kasanFirstBad(_ va: UInt64, _ nIn: Int) -> UInt64? {
        guard nIn > 0 else { return nil }
        let n = firstUnmapped(va, nIn).map { min(nIn, $0 + 1) } ?? nIn
        let end = va &+ UInt64(n)
        var a = va
        while a < end {
            let pageEnd = min(end, (a | 4095) &+ 1)
            if pageEnd <= a { break }
            if pageNeedsCheck(a) {
                var g = a & ~UInt64(7)
                while g < pageEnd {
                    let s = kasanShadow(g)
                    if s != 0 {
                        let okEnd = s < 8 ? g + UInt64(s) : g
                        let bad = max(a, okEnd)
                        if bad < min(g + 8, pageEnd) { return bad }
                    }
                    g += 8
                }
            }
            a = pageEnd
        }
        return nil
    }

    /// kasan_get_bug_type() for generic KASAN.
    func kasanBugType(_ firstBad: UInt64) -> (String, KernelReport.Kind) {
        var s = kasanShadow(firstBad)
        if s > 0 && s < 8 { s = kasanShadow(firstBad + 8) }
        switch s {
        case 0xFF: return ("use-after-free", .useAfterFree)
        case 0xFB, 0xFA: return ("slab-use-after-free", .useAfterFree)
        case 0xF8: return ("vmalloc-out-of-bounds", .vmallocOutOfBounds)
        default: return ("slab-out-of-bounds", .slabOutOfBounds)
        }
    }

    /// Checks an access; reports (once per access, as kasan_check_range
    /// does) and lets it proceed.
    @inline(__always) func kasanCheck(_ va: UInt64, _ n: Int, write: Bool, function: String) {
        if let bad = kasanFirstBad(va, n) {
            kasanReportAccess(va, size: n, write: write, function: function, firstBad: bad)
        }
    }

    /// kasan_report(): "BUG: KASAN: <type> in <caller>" with the object,
    /// its allocation and free stacks, the page and the shadow around it.
    func kasanReportAccess(_ addr: UInt64, size: Int, write: Bool, function: String, firstBad: UInt64? = nil) {
        let bad = firstBad ?? addr
        let (bug, kind) = kasanBugType(bad)
        var l = ["==================================================================",
                 "BUG: KASAN: \(bug) in \(scriptCallerSite)",
                 "\(write ? "Write" : "Read") of size \(size) at addr \(px(addr)) by task \(contexts.currentComm)/\(contexts.currentPid)",
                 ""]
        // 6.12 names; symbol()'s offsets (a build's own depend on its .config).
        var frames = ["print_report", "kasan_report"].map { symbol($0) }
        if function != "" { frames.append(symbol(function)) }
        let (desc, cache) = kasanDescribe(addr, bugType: bug)
        l += dumpStackLines(kernelFrames: frames)
        l.append("")
        l += desc
        l += kasanShadowDump(bad)
        l.append("==================================================================")
        if let note = anachronism("KASAN", since: "4.0") { l.append(note) }
        stats.kasanReports += 1
        addTaint(.badPage)
        warn(kind: kind, lines: l, address: addr, size: size, cache: cache,
             fields: ["bug": bug, "access": write ? "write" : "read", "first_bad": px(bad)])
    }

    /// kasan_report_invalid_free(): double-free / invalid-free.
    func kasanInvalidFree(_ addr: UInt64, double: Bool, function: String) {
        let bug = double ? "double-free" : "invalid-free"
        var l = ["==================================================================",
                 "BUG: KASAN: \(bug) in \(scriptCallerSite)",
                 "Free of addr \(px(addr)) by task \(contexts.currentComm)/\(contexts.currentPid)",
                 ""]
        l += dumpStackLines(kernelFrames: ["print_report", "kasan_report_invalid_free", function].map { symbol($0) })
        l.append("")
        var cache: String?
        let kernelHalf = layout.arch == .x86_64 ? addr >= 0xFFFF_8000_0000_0000 : addr >= layout.pageOffset
        if kernelHalf {
            let (desc, c) = kasanDescribe(addr, bugType: bug)
            cache = c
            l += desc
            l += kasanShadowDump(addr)
        }
        l.append("==================================================================")
        if let note = anachronism("KASAN", since: "4.0") { l.append(note) }
        stats.kasanReports += 1
        addTaint(.badPage)
        var fields = ["bug": bug]
        if layout.isVmallocAddr(addr) { fields["reason"] = "kfree of a vmalloc address" }
        warn(kind: double ? .doubleFree : .invalidFree, lines: l, address: addr, cache: cache, fields: fields)
    }

    /// print_address_description(): object, stacks, vmalloc area, page.
    func kasanDescribe(_ addr: UInt64, bugType: String) -> ([String], String?) {
        var l: [String] = []
        var cacheName: String?
        var pagePfn: UInt64?
        if let o = kmallocObject(containing: addr), let c = o.cache {
            cacheName = c.name
            let info = c.objInfo[o.index]
            if info.seq != 0 {
                l.append("Allocated by task \(info.pid):")
                // __kmalloc is __kmalloc_noprof since 6.10.
                l += ["kasan_save_stack", "kasan_save_track", "__kasan_kmalloc",
                      "__kmalloc_noprof"].map { " " + symbol($0) }
                l += stackLines(interned.traces[Int(info.traceId)])
                l.append("")
            }
            if c.objReq[o.index] == -1 {
                l.append("Freed by task \(info.freePid):")
                l += ["kasan_save_stack", "kasan_save_track", "kasan_save_free_info",
                      "__kasan_slab_free", "kfree"].map { " " + symbol($0) }
                l += stackLines(interned.traces[Int(info.freeTraceId)])
                l.append("")
            }
            let allocSize = o.allocated ? o.requested : c.objectSize
            l.append("The buggy address belongs to the object at \(px(o.address))")
            l.append(" which belongs to the cache \(c.name) of size \(c.objectSize)")
            let (rel, bytes) = relation(addr, o.address, allocSize)
            let state = bugType == "slab-out-of-bounds" ? "allocated " : bugType == "slab-use-after-free" ? "freed " : ""
            l.append("The buggy address is located \(bytes) bytes \(rel) of")
            l.append(" \(state)\(allocSize)-byte region [\(px(o.address)), \(px(o.address &+ UInt64(allocSize))))")
            l.append("")
            pagePfn = (addr &- layout.pageOffset) >> 12
        } else if layout.isDirectMap(addr) {
            pagePfn = (addr &- layout.pageOffset) >> 12
        }
        if layout.isVmallocAddr(addr), let a = vm.area(containing: addr) {
            l.append("The buggy address belongs to the virtual mapping at")
            l.append(" [\(px(a.start)), \(px(a.end))) created by:")
            l.append(" \(a.caller)")
            l.append("")
            let i = Int((addr &- a.start) >> 12)
            if i < a.pages.count { pagePfn = a.pages[i] }
        }
        if let pfn = pagePfn, pfn < layout.totalPages {
            l.append("The buggy address belongs to the physical page:")
            l += dumpPageLines(pfn, because: "kasan: bad access detected")
            l.append("")
        }
        return (l, cacheName)
    }

    private func relation(_ addr: UInt64, _ object: UInt64, _ size: Int) -> (String, UInt64) {
        if addr < object { return ("to the left", object - addr) }
        if addr >= object &+ UInt64(size) { return ("to the right", addr - (object &+ UInt64(size))) }
        return ("inside", addr - object)
    }

    func stackLines(_ trace: [String]) -> [String] {
        let t = trace.isEmpty ? [symbol("init_module", module: "kmlab")] : trace
        return t.map { $0.hasPrefix(" ") ? $0 : " " + $0 }
    }

    /// "Memory state around the buggy address:" — five rows of 16 shadow
    /// bytes (128 bytes of memory each), the guilty row marked.
    func kasanShadowDump(_ bad: UInt64) -> [String] {
        var l = ["Memory state around the buggy address:"]
        let rowBytes: UInt64 = 128
        var row = (bad & ~(rowBytes - 1)) &- 2 * rowBytes
        for _ in 0..<5 {
            let guilty = bad >= row && bad < row &+ rowBytes
            var s = (guilty ? ">" : " ") + px(row) + ": "
            var parts: [String] = []
            for k in 0..<16 { parts.append(hexPad(UInt64(kasanShadow(row &+ UInt64(k) * 8)), 2)) }
            s += parts.joined(separator: " ")
            l.append(s)
            if guilty {
                let offset = 3 + pointerDigits + Int((bad - row) / 8) * 3 + 1
                l.append(String(repeating: " ", count: offset - 1) + "^")
            }
            row = row &+ rowBytes
        }
        return l
    }
}
