/// Reading and writing kernel virtual memory through the simulated MMU:
/// every page touched is translated by the TLB (a page walk on a miss),
/// KASAN checks the range first, an unmapped page is an Oops.
extension Machine {
    /// Kernel virtual addresses are 32-bit on x86_32.
    func checkAddress(_ v: UInt64, _ n: Int, _ function: String) throws {
        guard n >= 0 else { throw KernelArgumentError(function, "size", "must be a non-negative integer, got \(n)") }
        if layout.arch == .x86_32 && v >= 1 << 32 {
            throw KernelArgumentError(function, "address", "is not a 32-bit address: \(hex(v))")
        }
    }

    /// The fault an access to `va` raises: a page-fault Oops (NULL pointer
    /// dereference below PAGE_SIZE), or on x86_64 a general protection fault
    /// for a non-canonical address (arch/x86/mm/fault.c, traps.c).
    func accessFault(_ va: UInt64, write: Bool) -> KernelOops {
        stats.pageFaults &+= 1
        charge(Cost.pageFault)
        dieCount += 1
        let flagsTail = layout.arch == .x86_64 ? " PREEMPT SMP KASAN NOPTI" : " PREEMPT SMP"
        var l: [String] = []
        var kind: KernelReport.Kind = .pageFault
        let ec: UInt64 = write ? 2 : 0
        if config.era == .v2_6 && layout.arch == .x86_32 {
            return accessFault2618(va, write: write)
        }
        if !isCanonical(va) {
            l.append("general protection fault, probably for non-canonical address \(hex(va)): 0000 [#\(dieCount)]" + flagsTail)
            kind = .generalProtectionFault
        } else {
            if va < 4096 {
                l.append("BUG: kernel NULL pointer dereference, address: \(px(va))")
                kind = .nullPointerDereference
            } else {
                l.append("BUG: unable to handle page fault for address: \(px(va))")
            }
            l.append("#PF: supervisor \(write ? "write access" : "read access") in kernel mode")
            l.append("#PF: error_code(0x\(hexPad(ec, 4))) - not-present page")
            let w = walk(va)
            if w.corrupt { return badPagetable(va, write: write, walk: w) }
            if layout.arch == .x86_32 {
                var s = "*pde = \(hexPad(w.entries[0], 8)) "
                if w.entries.count > 1 { s += "*pte = \(hexPad(w.entries[1], 8)) " }
                l.append(s)
            } else {
                var s = "PGD \(String(w.entries[0], radix: 16)) P4D \(String(w.entries[0], radix: 16)) "
                let names = ["PUD", "PMD", "PTE"]
                for (i, e) in w.entries.dropFirst().enumerated() { s += "\(names[i]) \(String(e, radix: 16)) " }
                l.append(s)
            }
            l.append("Oops: \(hexPad(ec, 4)) [#\(dieCount)]" + flagsTail)
        }
        l.append(cpuLine)
        l.append(hardwareLine)
        l.append((layout.arch == .x86_64 ? "RIP: 0010:" : "EIP: ") + scriptCallerSite)
        l += callTraceBlock(kernelFrames: ["? __die+0x23/0x70", "? page_fault_oops+0x171/0x4e0",
                                           "? exc_page_fault+0x7f/0x180", "? asm_exc_page_fault+0x26/0x30"])
        l.append(contexts.modulesLinkedInLine)
        if kind != .generalProtectionFault { l.append("CR2: \(px(va))") }
        l.append("---[ end trace 0000000000000000 ]---")
        return oops(kind: kind, lines: l, address: va, fields: ["access": write ? "write" : "read"])
    }

    /// The Oops of 2.6.18 on i386: arch/i386/mm/fault.c do_page_fault()'s
    /// no_context (the "BUG: unable to handle kernel ..." line with
    /// " printing eip:", the eip, *pde/*pte), then arch/i386/kernel/traps.c
    /// die() ("Oops: %04lx [#%d]", then "PREEMPT SMP ") and show_registers()
    /// up to "EIP is at" (the register dump and stack words after it are
    /// left out: kmlab has no registers to show); the Call Trace follows as
    /// kmlab prints it in both eras.
    func accessFault2618(_ va: UInt64, write: Bool) -> KernelOops {
        let w = walk(va)
        let site = scriptCallerSite
        let eip = fakeModuleAddress(site)
        var l = ["BUG: unable to handle kernel " + (va < 4096 ? "NULL pointer dereference" : "paging request")
                 + " at virtual address \(hexPad(va, 8))",
                 " printing eip:", hexPad(eip, 8)]
        l.append("*pde = \(hexPad(w.entries.first ?? 0, 8))")
        if w.entries.count > 1 { l.append("*pte = \(hexPad(w.entries[1], 8))") }
        l.append("Oops: \(hexPad(write ? 2 : 0, 4)) [#\(dieCount)]")
        l.append("PREEMPT SMP ")
        l.append(contexts.modulesLinkedInLine)
        l.append("CPU:    0")
        l.append("EIP:    0060:[<\(hexPad(eip, 8))>]    \(taintString) VLI")
        l.append("EFLAGS: 00010246   (\(layout.kernelRelease) #1) ")
        l.append("EIP is at \(site)")
        l += callTraceBlock(kernelFrames: [])
        let kind: KernelReport.Kind = va < 4096 ? .nullPointerDereference : .pageFault
        return oops(kind: kind, lines: l, address: va, fields: ["access": write ? "write" : "read"])
    }

    /// The page-table dump of `dump_pagetable()` for a walk's entries.
    func pagetableDumpLine(_ w: Walk) -> String {
        if layout.arch == .x86_32 {
            var s = "*pde = \(hexPad(w.entries.first ?? 0, 8)) "
            if w.entries.count > 1 { s += "*pte = \(hexPad(w.entries[1], 8)) " }
            return s
        }
        var s = "PGD \(String(w.entries.first ?? 0, radix: 16)) P4D \(String(w.entries.first ?? 0, radix: 16)) "
        let names = ["PUD", "PMD", "PTE"]
        for (i, e) in w.entries.dropFirst().prefix(3).enumerated() { s += "\(names[i]) \(String(e, radix: 16)) " }
        return s
    }

    /// A walk through an entry that points outside RAM: the CPU's walk ends
    /// in a reserved-bit fault and arch/x86/mm/fault.c `pgtable_bad()` says
    /// "Corrupted page table", dumps the tables and dies with "Bad pagetable"
    /// (error code X86_PF_PROT | X86_PF_RSVD, plus X86_PF_WRITE for a write).
    func badPagetable(_ va: UInt64, write: Bool, walk w: Walk) -> KernelOops {
        let flagsTail = layout.arch == .x86_64 ? " PREEMPT SMP KASAN NOPTI" : " PREEMPT SMP"
        let ec: UInt64 = 0x9 | (write ? 2 : 0)
        var l = ["\(contexts.currentComm): Corrupted page table at address \(String(va, radix: 16))"]
        l.append(pagetableDumpLine(w))
        l.append("Bad pagetable: \(hexPad(ec, 4)) [#\(dieCount)]" + flagsTail)
        l.append(cpuLine)
        l.append(hardwareLine)
        l.append((layout.arch == .x86_64 ? "RIP: 0010:" : "EIP: ") + scriptCallerSite)
        l += callTraceBlock(kernelFrames: ["? __die+0x23/0x70", "? pgtable_bad+0x6e/0x90",
                                           "? exc_page_fault+0x7f/0x180", "? asm_exc_page_fault+0x26/0x30"])
        l.append(contexts.modulesLinkedInLine)
        l.append("CR2: \(px(va))")
        l.append("---[ end trace 0000000000000000 ]---")
        return oops(kind: .pageFault, lines: l, address: va,
                    fields: ["access": write ? "write" : "read", "reason": "bad pagetable"])
    }

    /// A write through the kernel's mapping into a frame the script does not
    /// own and no allocator handed out: boot page tables, mem_map, the
    /// kernel image, firmware memory, or a page-table page. The real kernel
    /// catches only the kernel image (CONFIG_STRICT_KERNEL_RWX maps it read
    /// only); a scribbled page table goes unnoticed until a walk through it
    /// dies with "Bad pagetable". kmlab's debug kernel says so at the write,
    /// naming the owner, once per frame, and lets the write happen (so the
    /// learner then sees what the corruption does).
    func noteProtectedWrite(_ pa: UInt64, va: UInt64) {
        let pfn = pa >> 12
        guard pfn < phys.totalPages else { return }
        let f = phys.frame(pfn)
        let owner: String
        if f.kind == Frame.reserved {
            owner = "reserved (\(ReservedDetail(rawValue: f.a)?.text ?? "reserved"))"
        } else if f.kind == Frame.allocHead && f.owner == Owner.pagetable {
            owner = "page table"
        } else {
            return
        }
        guard !protectedWritesReported.contains(pfn) else { return }
        protectedWritesReported.insert(pfn)
        let headline = "kmlab: write to a frame owned by \(owner): pfn 0x\(String(pfn, radix: 16)) at \(px(va))"
        var lines = [headline,
                     "(no kernel check catches this; a page walk through a scribbled page table ends in \"Bad pagetable\")"]
        lines += dumpStackLines(kernelFrames: [])
        var r = KernelReport(kind: .bug, severity: .warning, lines: lines, address: pa,
                             context: contexts.contextName,
                             fields: contextFields(["owner": owner, "pfn": "0x" + String(pfn, radix: 16)]))
        r.headline = headline
        raise(r)
    }

    /// Translates `va` or throws the Oops.
    @inline(__always) func translate(_ va: UInt64, write: Bool) throws -> UInt64 {
        if let pa = translateNoFault(va) { return pa }
        throw accessFault(va, write: write)
    }

    /// How far an access may run before an unmapped page stops it and still
    /// be carried out byte for byte. A longer overrun (memset of 1 TiB) faults
    /// at once without touching memory first: the real machine would be dead
    /// long before the fault, and simulating gigabytes of writes would only
    /// burn host time and memory.
    static let overrunLimit = 16 << 20

    /// The offset of the first unmapped byte in [va, va+n), or nil: a walk
    /// of the page tables (no TLB, no charge) that steps over whole mappings.
    func firstUnmapped(_ va: UInt64, _ n: Int) -> Int? {
        var a = va
        while a &- va < UInt64(n) {
            if layout.arch == .x86_32 && a >= 1 << 32 { return Int(a &- va) }
            if !isCanonical(a) { return Int(a &- va) }
            let w = walk(a)
            if w.paddr == nil { return Int(a &- va) }
            let next = (a | ((UInt64(1) << w.shift) - 1)) &+ 1
            if next <= a { return nil }
            a = next
        }
        return nil
    }

    /// Faults at once for an access that would run more than `overrunLimit`
    /// bytes before reaching an unmapped page.
    func checkOverrun(_ va: UInt64, _ n: Int, write: Bool) throws {
        if n > Machine.overrunLimit, let bad = firstUnmapped(va, n), bad > Machine.overrunLimit {
            throw accessFault(layout.arch == .x86_32 ? (va &+ UInt64(bad)) & 0xFFFF_FFFF : va &+ UInt64(bad), write: write)
        }
    }

    /// Walks [va, va+n) page by page: `body(pa, offsetInBuffer, length)`.
    func forEachPage(_ va: UInt64, _ n: Int, write: Bool, _ body: (UInt64, Int, Int) throws -> Void) throws {
        try checkOverrun(va, n, write: write)
        var done = 0
        while done < n {
            let a = va &+ UInt64(done)
            if layout.arch == .x86_32 && a >= 1 << 32 { throw accessFault(a & 0xFFFF_FFFF, write: write) }
            if done > 0 && a < va { throw accessFault(a, write: write) }
            let pa = try translate(a, write: write)
            if write { noteProtectedWrite(pa, va: a) }
            let len = min(4096 - Int(a & 4095), n - done)
            try body(pa, done, len)
            done += len
        }
        charge(Cost.accessCall + UInt64(n / 16) * Cost.accessPer16)
    }

    // MARK: the public access API

    /// Reads `count` bytes (`peek(addr, n)`).
    public func read(_ addr: UInt64, count: Int) throws -> [UInt8] {
        try checkAddress(addr, count, "peek")
        if count == 0 { return [] }
        kasanCheck(addr, count, write: false, function: "")
        // The buffer grows page by page: a read that runs into an unmapped
        // page Oopses before the host allocates for the rest, and the host
        // memory it may take is bounded like the memory contents.
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 1 << 20))
        var page = [UInt8](repeating: 0, count: 4096)
        try forEachPage(addr, count, write: false) { pa, _, len in
            guard out.count + len <= phys.limit else { throw SimulatorLimitError.memoryLimitExceeded(limit: phys.limit) }
            page.withUnsafeMutableBufferPointer { b in
                if let base = b.baseAddress { phys.read(pa >> 12, Int(pa & 4095), len, into: base) }
            }
            out.append(contentsOf: page[0..<len])
        }
        stats.bytesRead &+= UInt64(count)
        return out
    }

    /// Reads one byte (`peek(addr)`).
    public func readByte(_ addr: UInt64) throws -> UInt8 {
        try checkAddress(addr, 1, "peek")
        kasanCheck(addr, 1, write: false, function: "")
        let pa = try translate(addr, write: false)
        charge(Cost.accessCall)
        stats.bytesRead &+= 1
        return phys.readByte(pa >> 12, Int(pa & 4095))
    }

    /// Writes bytes (`poke(addr, string)`).
    public func write(_ addr: UInt64, bytes: [UInt8]) throws {
        try checkAddress(addr, bytes.count, "poke")
        if bytes.isEmpty { return }
        kasanCheck(addr, bytes.count, write: true, function: "")
        try bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try forEachPage(addr, bytes.count, write: true) { pa, off, len in
                try phys.write(pa >> 12, Int(pa & 4095), base + off, len)
            }
        }
        stats.bytesWritten &+= UInt64(bytes.count)
    }

    /// Writes one byte (`poke(addr, value)`).
    public func writeByte(_ addr: UInt64, _ value: UInt8) throws {
        try write(addr, bytes: [value])
    }

    /// KASAN's checked string functions (mm/kasan/shadow.c `memset`,
    /// `memcpy`, `memmove`): `kasan_check_range()` over the whole range
    /// first; when it reports, the function returns without touching
    /// memory. Returns false when it reported.
    private func kasanCheckedRange(_ va: UInt64, _ n: Int, write: Bool, function: String) -> Bool {
        guard let bad = kasanFirstBad(va, n) else { return true }
        kasanReportAccess(va, size: n, write: write, function: function, firstBad: bad)
        return false
    }

    /// `memset(p, byte, n)`. Under KASAN a bad range is reported and
    /// nothing is written (mm/kasan/shadow.c memset).
    public func memset(_ p: UInt64, _ value: UInt8, _ n: Int) throws {
        try checkAddress(p, n, "memset")
        if n == 0 { return }
        guard kasanCheckedRange(p, n, write: true, function: "memset") else { return }
        try forEachPage(p, n, write: true) { pa, _, len in
            try phys.fill(pa >> 12, Int(pa & 4095), value, len)
        }
        stats.bytesWritten &+= UInt64(n)
    }

    /// `memcpy(dst, src, n)` (the source is read before the destination is
    /// written, page by page, as memmove would). Under KASAN the source is
    /// checked, then the destination; the first bad range is reported and
    /// nothing is copied (mm/kasan/shadow.c memcpy/memmove).
    public func memcpy(_ dst: UInt64, _ src: UInt64, _ n: Int) throws {
        try checkAddress(dst, n, "memcpy")
        try checkAddress(src, n, "memcpy")
        if n == 0 { return }
        guard kasanCheckedRange(src, n, write: false, function: "memcpy"),
              kasanCheckedRange(dst, n, write: true, function: "memcpy") else { return }
        try checkOverrun(src, n, write: false)
        try checkOverrun(dst, n, write: true)
        var buf = [UInt8](repeating: 0, count: min(n, 1 << 20))
        var done = 0
        while done < n {
            let chunk = min(n - done, buf.count)
            try buf.withUnsafeMutableBufferPointer { b in
                guard let base = b.baseAddress else { return }
                try forEachPage(src &+ UInt64(done), chunk, write: false) { pa, off, len in
                    phys.read(pa >> 12, Int(pa & 4095), len, into: base + off)
                }
                try forEachPage(dst &+ UInt64(done), chunk, write: true) { pa, off, len in
                    try phys.write(pa >> 12, Int(pa & 4095), base + off, len)
                }
            }
            done += chunk
        }
        stats.bytesRead &+= UInt64(n)
        stats.bytesWritten &+= UInt64(n)
    }

    /// `memcmp(a, b, n)`: <0, 0 or >0 as the first differing byte says.
    /// lib/string.c memcmp is compiled with KASAN instrumentation, byte by
    /// byte: the report is a 1-byte read at the first bad byte the loop
    /// reaches (it stops at the first difference), and the loads proceed.
    /// A kasan_multi_shot kernel would report every bad byte it reads;
    /// kmlab reports the first one, one report per call.
    public func memcmp(_ a: UInt64, _ b: UInt64, _ n: Int) throws -> Int {
        try checkAddress(a, n, "memcmp")
        try checkAddress(b, n, "memcmp")
        if n == 0 { return 0 }
        let badA = kasanFirstBad(a, n).map { Int($0 &- a) }
        let badB = kasanFirstBad(b, n).map { Int($0 &- b) }
        var reported = false
        /// Reports the first bad byte among those read up to index `last`.
        func reportReached(upTo last: Int) {
            guard !reported else { return }
            let candidates = [badA.map { ($0, a) }, badB.map { ($0, b) }].compactMap { $0 }
                .filter { $0.0 <= last }
            guard let first = candidates.min(by: { $0.0 < $1.0 }) else { return }
            reported = true
            let addr = first.1 &+ UInt64(first.0)
            kasanReportAccess(addr, size: 1, write: false, function: "memcmp", firstBad: addr)
        }
        do {
            try checkOverrun(a, n, write: false)
            try checkOverrun(b, n, write: false)
            var done = 0
            while done < n {
                let chunk = min(n - done, 1 << 16)
                let x = try readRaw(a &+ UInt64(done), chunk)
                let y = try readRaw(b &+ UInt64(done), chunk)
                for i in 0..<chunk where x[i] != y[i] {
                    reportReached(upTo: done + i)
                    return Int(x[i]) - Int(y[i])
                }
                done += chunk
            }
        } catch {
            // The loop faulted at the first unmapped byte (an overrun of
            // gigabytes faults at once, without reading them): the bytes it
            // read up to there, that one included, were checked first.
            let fault = min(firstUnmapped(a, n) ?? n, firstUnmapped(b, n) ?? n)
            reportReached(upTo: fault)
            throw error
        }
        reportReached(upTo: n - 1)
        return 0
    }

    /// Reads through the MMU without KASAN (callers checked already).
    func readRaw(_ addr: UInt64, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try forEachPage(addr, count, write: false) { pa, off, len in
                phys.read(pa >> 12, Int(pa & 4095), len, into: base + off)
            }
        }
        stats.bytesRead &+= UInt64(count)
        return out
    }

    // MARK: physical memory (devices)

    /// Reads physical memory, as a bus master does (no MMU, no KASAN).
    /// Bytes past the end of RAM read as 0xff.
    public func readPhysical(_ paddr: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw KernelArgumentError("dma_read", "count", "must be a non-negative integer, got \(count)") }
        guard count <= phys.limit else { throw SimulatorLimitError.memoryLimitExceeded(limit: phys.limit) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        out.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            while done < count {
                let pa = paddr &+ UInt64(done)
                let len = min(4096 - Int(pa & 4095), count - done)
                phys.read(pa >> 12, Int(pa & 4095), len, into: base + done)
                done += len
            }
        }
        return out
    }

    /// Writes physical memory (writes past the end of RAM are lost).
    public func writePhysical(_ paddr: UInt64, bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            while done < bytes.count {
                let pa = paddr &+ UInt64(done)
                let len = min(4096 - Int(pa & 4095), bytes.count - done)
                try phys.write(pa >> 12, Int(pa & 4095), base + done, len)
                done += len
            }
        }
    }

    /// What owns the memory at a physical address: the frame's owner and,
    /// for slab memory, the object (for the DMA-API corruption report).
    public func physicalOwner(_ paddr: UInt64) -> PhysicalOwner? {
        guard let info = pageInfo(pfn: paddr >> 12) else { return nil }
        var o = PhysicalOwner(page: info, objectAddress: nil, objectSize: nil, cache: nil, objectAllocated: nil,
                              vmallocArea: nil)
        if paddr >> 12 < layout.maxLowPfn, let obj = kmallocObject(containing: va(paddr)) {
            o.objectAddress = obj.address
            o.objectSize = obj.cache?.size ?? obj.usable
            o.cache = obj.cache?.name
            o.objectAllocated = obj.allocated
        }
        if info.owner == "vmalloc", let head = info.headPfn {
            let f = phys.frame(head)
            if let a = vm.byId[Int32(bitPattern: f.a)] { o.vmallocArea = a.start }
        }
        return o
    }
}

/// The owner of a physical address (see `Machine.physicalOwner`).
public struct PhysicalOwner: Sendable, Equatable, CustomStringConvertible {
    public var page: PageInfo
    /// The slab object (or large kmalloc block) containing the address.
    public var objectAddress: UInt64?
    public var objectSize: Int?
    public var cache: String?
    public var objectAllocated: Bool?
    /// The vmalloc area a vmalloc page belongs to.
    public var vmallocArea: UInt64?

    public var description: String {
        var s = page.description
        if let c = cache, let a = objectAddress {
            s += " object \(hex(a)) (\(c), \(objectAllocated == true ? "allocated" : "free"))"
        }
        if let v = vmallocArea { s += " vmalloc area \(hex(v))" }
        return s
    }
}
