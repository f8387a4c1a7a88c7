/// The kmap pkmap area (x86_32): LAST_PKMAP slots with use counts
/// (mm/highmem.c: 0 free, 1 unmapped but not yet flushed, >1 in use).
struct PkmapState {
    var count: [Int32]
    var page: [UInt64]
    var lastNr = 0
    var byPfn: [UInt64: Int] = [:]

    init(count n: Int) {
        count = [Int32](repeating: 0, count: n)
        page = [UInt64](repeating: UInt64.max, count: n)
    }
}

extension Machine {
    // MARK: __pa / __va

    /// `__pa(v)` / `virt_to_phys(v)` with CONFIG_DEBUG_VIRTUAL
    /// (arch/x86/mm/physaddr.c): an address outside the direct map (below
    /// PAGE_OFFSET, in vmalloc space, above lowmem) is a kernel BUG.
    public func pa(_ v: UInt64) throws -> UInt64 {
        let file = "arch/x86/mm/physaddr.c"
        if layout.arch == .x86_32 {
            if v >= 1 << 32 { throw KernelArgumentError("__pa", "address", "is not a 32-bit address: \(hex(v))") }
            if v < layout.pageOffset {
                throw kernelBug(kind: .debugVirtual, file: file, line: KernelSite.physaddrBelowPageOffset32,
                                function: "__phys_addr", address: v)
            }
            if layout.isVmallocAddr(v) {
                throw kernelBug(kind: .debugVirtual, file: file, line: KernelSite.physaddrVmalloc32,
                                function: "__phys_addr", address: v)
            }
            let p = v - layout.pageOffset
            if p >> 12 > layout.maxLowPfn {
                throw kernelBug(kind: .debugVirtual, file: file, line: KernelSite.physaddrAboveLowmem32,
                                function: "__phys_addr", address: v)
            }
            return p
        }
        if v >= layout.startKernelMap {
            let y = v - layout.startKernelMap
            if y >= layout.kernelImageSize {
                throw kernelBug(kind: .debugVirtual, file: file, line: 23, function: "__phys_addr", address: v)
            }
            return y
        }
        if v < layout.pageOffset || (v - layout.pageOffset) >> layout.physAddrBits != 0 {
            throw kernelBug(kind: .debugVirtual, file: file, line: KernelSite.physaddr64, function: "__phys_addr",
                            address: v)
        }
        return v - layout.pageOffset
    }

    /// `__va(p)` / `phys_to_virt(p)`: p + PAGE_OFFSET, unchecked (on x86_32
    /// a highmem physical address gives an address that is not lowmem).
    public func va(_ p: UInt64) -> UInt64 {
        layout.arch == .x86_32 ? (p &+ layout.pageOffset) & 0xFFFF_FFFF : p &+ layout.pageOffset
    }

    /// `virt_to_page(v)`: pfn_to_page(__pa(v) >> PAGE_SHIFT), with __pa's checks.
    public func virtToPage(_ v: UInt64) throws -> Page { Page(pfn: try pa(v) >> 12) }

    /// `is_vmalloc_addr(v)`.
    public func isVmallocAddr(_ v: UInt64) -> Bool { layout.isVmallocAddr(v) }

    /// `virt_addr_valid(v)` (arch/x86/mm/physaddr.c __virt_addr_valid).
    public func virtAddrValid(_ v: UInt64) -> Bool {
        if layout.arch == .x86_32 {
            if v >= 1 << 32 || v < layout.pageOffset || layout.isVmallocAddr(v) || v >= layout.fixaddrStart {
                return false
            }
            return (v - layout.pageOffset) >> 12 < layout.totalPages
        }
        if v >= layout.startKernelMap {
            let y = v - layout.startKernelMap
            return y < layout.kernelImageSize && y >> 12 < layout.totalPages
        }
        if v < layout.pageOffset { return false }
        let x = v - layout.pageOffset
        if x >> layout.physAddrBits != 0 { return false }
        return x >> 12 < layout.totalPages
    }

    /// `vmalloc_to_page(v)`: walks the page tables; nil if nothing is mapped.
    /// An address outside the vmalloc/module area is a VIRTUAL_BUG_ON.
    public func vmallocToPage(_ v: UInt64) throws -> Page? {
        let modules = layout.arch == .x86_64 && v >= 0xFFFF_FFFF_A000_0000 && v < 0xFFFF_FFFF_FF00_0000
        guard layout.isVmallocAddr(v) || modules else {
            let s = KernelSite.vmallocToPageBug
            throw kernelBug(kind: .debugVirtual, file: s.0, line: s.1, function: "vmalloc_to_page", address: v)
        }
        guard let pa = walk(v).paddr else { return nil }
        return Page(pfn: pa >> 12)
    }

    /// `vmalloc_to_pfn(v)`: page_to_pfn(vmalloc_to_page(v)); 0 when unmapped.
    public func vmallocToPfn(_ v: UInt64) throws -> UInt64 { try vmallocToPage(v)?.pfn ?? 0 }

    /// `pfn_to_page(pfn)`; nil for a pfn that is not RAM of this machine.
    public func pfnToPage(_ pfn: UInt64) -> Page? { pfn < layout.totalPages ? Page(pfn: pfn) : nil }

    /// `page_to_phys(page)`.
    public func pageToPhys(_ page: Page) -> UInt64 { page.pfn << 12 }

    /// `PageHighMem(page)`.
    public func pageHighMem(_ page: Page) -> Bool {
        page.pfn < layout.totalPages && buddy.zone(of: page.pfn).type == .highmem
    }

    /// `page_zonenum(page)`: the zone_type number.
    public func pageZonenum(_ page: Page) -> Int { page.pfn < layout.totalPages ? buddy.zone(of: page.pfn).index : 0 }

    /// The zone's name ("DMA", "DMA32", "Normal", "HighMem").
    public func pageZoneName(_ page: Page) -> String {
        page.pfn < layout.totalPages ? buddy.zone(of: page.pfn).name : "?"
    }

    /// `page_address(page)`: the direct-map address of a lowmem page, the
    /// pkmap address of a kmapped highmem page, nil otherwise.
    public func pageAddress(_ page: Page) -> UInt64? {
        guard page.pfn < layout.totalPages else { return nil }
        if page.pfn < layout.maxLowPfn { return layout.pageOffset &+ (page.pfn << 12) }
        if let slot = pkmap.byPfn[page.pfn] { return layout.pkmapBase + UInt64(slot) << 12 }
        return nil
    }

    // MARK: kmap

    /// `kmap(page)`: page_address() for lowmem; for highmem a pkmap slot
    /// (mm/highmem.c kmap_high). May sleep.
    public func kmap(_ page: Page) throws -> UInt64 {
        let site = KernelSite.kmapMightSleep(config.era)
        mightSleep(file: site.0, line: site.1)
        guard page.pfn < layout.totalPages else {
            throw KernelArgumentError("kmap", "page", "is not a page of this machine (pfn \(hex(page.pfn)))")
        }
        if !pageHighMem(page) { return layout.pageOffset &+ (page.pfn << 12) }
        if let slot = pkmap.byPfn[page.pfn] {
            pkmap.count[slot] += 1
            return layout.pkmapBase + UInt64(slot) << 12
        }
        var budget = layout.lastPkmap
        var nr = pkmap.lastNr
        while true {
            nr = (nr + 1) & (layout.lastPkmap - 1)
            if nr == 0 {
                try flushAllZeroPkmaps()
                budget = layout.lastPkmap
            }
            if pkmap.count[nr] == 0 { break }
            budget -= 1
            if budget == 0 {
                throw hungTask(waitingIn: "kmap_high")
            }
        }
        pkmap.lastNr = nr
        let vaddr = layout.pkmapBase + UInt64(nr) << 12
        _ = try mapPage(vaddr, pfn: page.pfn)
        pkmap.count[nr] = 2
        pkmap.page[nr] = page.pfn
        pkmap.byPfn[page.pfn] = nr
        return vaddr
    }

    /// flush_all_zero_pkmaps(): slots with count 1 are unmapped and the
    /// pkmap range is flushed from the TLB.
    func flushAllZeroPkmaps() throws {
        var flushed = false
        for i in 0..<layout.lastPkmap where pkmap.count[i] == 1 {
            pkmap.count[i] = 0
            try unmapPage(layout.pkmapBase + UInt64(i) << 12)
            pkmap.byPfn[pkmap.page[i]] = nil
            pkmap.page[i] = UInt64.max
            flushed = true
        }
        if flushed { flushTLB(layout.pkmapBase, layout.pkmapBase + UInt64(layout.lastPkmap) << 12) }
    }

    /// `kunmap(page)`: drops a kmap reference (the slot is reused after the
    /// next wrap-around flush). Unbalanced calls are the kernel's BUG().
    public func kunmap(_ page: Page) throws {
        guard pageHighMem(page) else { return }
        guard let slot = pkmap.byPfn[page.pfn], pkmap.count[slot] > 1 else {
            throw kernelBug(file: "mm/highmem.c", line: 607, function: "kunmap_high", address: page.pfn << 12)
        }
        pkmap.count[slot] -= 1
    }

    /// `kmap_local_page(page)`: page_address() for lowmem; on x86_32 a
    /// highmem page gets the next fixmap slot of this CPU (KM_MAX_IDX deep).
    public func kmapLocalPage(_ page: Page) throws -> UInt64 {
        guard page.pfn < layout.totalPages else {
            throw KernelArgumentError("kmap_local_page", "page", "is not a page of this machine (pfn \(hex(page.pfn)))")
        }
        if !pageHighMem(page) { return layout.pageOffset &+ (page.pfn << 12) }
        let idx = kmapLocalStack.count
        if idx >= layout.kmapLocalSlots {
            let s = KernelSite.kmapLocalOverflow
            throw kernelBug(file: s.0, line: s.1, function: "__kmap_local_pfn_prot")
        }
        let vaddr = layout.kmapLocalAddress(slot: idx)
        _ = try mapPage(vaddr, pfn: page.pfn)
        kmapLocalStack.append(vaddr)
        return vaddr
    }

    /// `kunmap_local(addr)`: must undo the most recent kmap_local (LIFO).
    public func kunmapLocal(_ addr: UInt64) throws {
        let a = addr & ~UInt64(4095)
        let lo = layout.arch == .x86_32 ? layout.kmapLocalAddress(slot: layout.kmapLocalSlots - 1) : 0
        let hi = layout.arch == .x86_32 ? layout.kmapLocalAddress(slot: 0) : 0
        if layout.arch == .x86_64 || a < lo || a > hi {
            if a < layout.pageOffset {
                warnOnce("kunmap_local-user", site: KernelSite.kunmapLocalWrong, function: "kunmap_local_indexed")
            }
            return
        }
        guard let top = kmapLocalStack.last, top == a else {
            warnOnce("kunmap_local-order", site: KernelSite.kunmapLocalWrong, function: "kunmap_local_indexed")
            if let i = kmapLocalStack.lastIndex(of: a) {
                try unmapPage(a)
                flushTLBLocal(a, a + 4096)
                kmapLocalStack.remove(at: i)
            }
            return
        }
        try unmapPage(a)
        flushTLBLocal(a, a + 4096)
        kmapLocalStack.removeLast()
    }

    /// The hung-task report for a task that would sleep forever.
    func hungTask(waitingIn function: String) -> KernelOops {
        var l = ["INFO: task \(contexts.currentComm):\(contexts.currentPid) blocked for more than 122 seconds.",
                 "      \(taintString) \(layout.kernelRelease) #1",
                 "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
                 "task:\(rpad(contexts.currentComm, 15)) state:D stack:0     pid:\(contexts.currentPid)     ppid:0      flags:0x00004000"]
        l += callTraceBlock(kernelFrames: ["__schedule", "schedule", function].map { symbol($0) })
        return oops(kind: .bug, lines: l, fields: ["waiting": function])
    }
}
