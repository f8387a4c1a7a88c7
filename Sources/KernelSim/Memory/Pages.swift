/// A `struct page *`: identified by its page frame number.
public struct Page: Hashable, Sendable, CustomStringConvertible {
    public let pfn: UInt64
    public init(pfn: UInt64) { self.pfn = pfn }
    public var description: String { "page{pfn=\(hex(pfn))}" }
}

/// What a page is, as a learner sees it: `page{pfn=0x1a2b, zone=Normal, owner=slab kmalloc-128}`.
public struct PageInfo: Sendable, Equatable, CustomStringConvertible {
    public var pfn: UInt64
    /// "DMA", "DMA32", "Normal", "HighMem" (as /proc/buddyinfo names them).
    public var zone: String
    /// zone_idx / page_zonenum().
    public var zoneNumber: Int
    /// page->flags: the PG_ bits of 6.8's enum pageflags, with the zone in
    /// the top bits as the kernel keeps it.
    public var flags: UInt64
    /// The set flags by name ("slab", "head", "lru", "reserved", ...).
    public var flagNames: [String]
    /// "free", "reserved", "slab kmalloc-128", "kmalloc-large", "vmalloc",
    /// "pages", "user", "pagecache", "pagetable", "kernel".
    public var owner: String
    /// Why a reserved page is reserved ("kernel image", "mem_map", ...).
    public var detail: String?
    /// Order of the block this page heads (free or allocated), if it heads one.
    public var order: Int?
    /// The pfn of the block's head page (compound_head) for allocated pages.
    public var headPfn: UInt64?
    public var mapcount: Int
    public var refcount: Int
    public var isHighMem: Bool

    public var description: String { "page{pfn=\(hex(pfn)), zone=\(zone), owner=\(owner)}" }
}

extension Machine {
    /// The name `PageInfo.owner` uses for an owner id.
    func ownerName(_ owner: UInt32) -> String {
        switch owner {
        case Owner.free: return "free"
        case Owner.reserved: return "reserved"
        case Owner.pages: return "pages"
        case Owner.vmalloc: return "vmalloc"
        case Owner.user: return "user"
        case Owner.pagecache: return "pagecache"
        case Owner.pagetable: return "pagetable"
        case Owner.kmallocLarge: return "kmalloc-large"
        case Owner.kernel: return "kernel"
        default:
            let i = Int(owner) - Int(Owner.slabBase)
            return i >= 0 && i < slab.caches.count ? "slab " + slab.caches[i].name : "unknown"
        }
    }

    /// Everything about one frame; nil for a pfn past the end of RAM.
    public func pageInfo(_ page: Page) -> PageInfo? { pageInfo(pfn: page.pfn) }

    public func pageInfo(pfn: UInt64) -> PageInfo? {
        guard pfn < layout.totalPages else { return nil }
        let f = phys.frame(pfn)
        let z = buddy.zone(of: pfn)
        var flags16 = f.flags
        var owner = f.owner
        var order: Int?
        var head: UInt64?
        var mapcount = 0, refcount = 0
        var detail: String?
        switch f.kind {
        case Frame.freeHead:
            order = Int(f.order)
            owner = Owner.free
        case Frame.freeTail:
            owner = Owner.free
        case Frame.allocHead:
            order = Int(f.order)
            head = pfn
            mapcount = Int(f.b)
            refcount = 1
        case Frame.allocTail:
            head = UInt64(f.a)
            let h = phys.frame(UInt64(f.a))
            if h.flags & PG.head != 0 { flags16 = 0 }
            if h.flags & PG.slab != 0 { flags16 |= PG.slab }
        default:
            owner = Owner.reserved
            flags16 |= PG.reserved
            detail = ReservedDetail(rawValue: f.a)?.text
            refcount = 1
        }
        if f.owner == Owner.user && f.kind == Frame.allocHead { mapcount = max(mapcount, 1) }
        var bits: UInt64 = 0
        var names: [String] = []
        for (mine, bit, name) in PG.kernelBits where flags16 & mine != 0 {
            bits |= 1 << UInt64(bit)
            names.append(name)
        }
        bits |= UInt64(z.index) << (layout.arch == .x86_64 ? 56 : 30)
        return PageInfo(pfn: pfn, zone: z.name, zoneNumber: z.index, flags: bits, flagNames: names,
                        owner: ownerName(owner), detail: detail, order: order, headPfn: head,
                        mapcount: mapcount, refcount: refcount, isHighMem: z.type == .highmem)
    }

    // MARK: the page allocator API

    /// `alloc_pages(flags, order)`: 2^order contiguous frames, or nil.
    public func allocPages(_ flags: GFP, order: Int) throws -> Page? {
        guard order >= 0 else { throw KernelArgumentError("alloc_pages", "order", "must be a non-negative integer, got \(order)") }
        if flags.allowsBlocking {
            let site = KernelSite.pageAllocMightSleep(config.era)
            mightSleep(file: site.0, line: site.1)
        }
        guard let pfn = allocPagesInternal(flags, order: order, owner: Owner.pages,
                                           flags: flags.contains(.comp) ? PG.head : 0) else {
            try throwIfPanicked()
            return nil
        }
        var info = newAllocInfo()
        info.size = 4096 << order
        pageAllocations[pfn] = info
        return Page(pfn: pfn)
    }

    /// `alloc_page(flags)`.
    public func allocPage(_ flags: GFP) throws -> Page? { try allocPages(flags, order: 0) }

    /// `__free_pages(page, order)`. A page that is not the head of a block
    /// of that order from alloc_pages (already free, a slab page, the wrong
    /// order) is reported as "BUG: Bad page state" and not freed.
    public func freePages(_ page: Page, order: Int) throws {
        guard order >= 0 else { throw KernelArgumentError("__free_pages", "order", "must be a non-negative integer, got \(order)") }
        let pfn = page.pfn
        guard pfn < layout.totalPages else {
            throw KernelArgumentError("__free_pages", "page", "is not a page of this machine (pfn \(hex(pfn)))")
        }
        let f = phys.frame(pfn)
        if f.kind == Frame.allocHead && f.owner == Owner.pages && Int(f.order) == order {
            pageAllocations[pfn] = nil
            freePagesInternal(pfn, order: order)
            return
        }
        let reason: String
        if f.kind == Frame.freeHead || f.kind == Frame.freeTail {
            reason = "nonzero mapcount"
        } else if f.kind == Frame.allocHead && f.owner == Owner.pages {
            reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
        } else if f.flags & PG.slab != 0 || f.owner >= Owner.slabBase {
            reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
        } else {
            reason = "nonzero _refcount"
        }
        badPage(pfn, reason: reason, double: f.kind == Frame.freeHead || f.kind == Frame.freeTail)
    }

    /// bad_page() (mm/page_alloc.c).
    func badPage(_ pfn: UInt64, reason: String, double: Bool) {
        addTaint(.badPage)
        var l = ["BUG: Bad page state in process \(contexts.currentComm)  pfn:\(hexPad(pfn, 5))"]
        l += dumpPageLines(pfn, because: reason)
        l.append(contexts.modulesLinkedInLine)
        l += dumpStackLines(kernelFrames: ["bad_page", "free_page_is_bad_report", "__free_pages_ok"].map { symbol($0) })
        l.append("Disabling lock debugging due to kernel taint")
        warn(kind: double ? .doubleFree : .invalidFree, lines: l, address: pfn << 12,
             fields: ["pfn": hex(pfn), "reason": reason])
    }

    /// dump_page() (mm/debug.c), the lines that matter.
    func dumpPageLines(_ pfn: UInt64, because reason: String) -> [String] {
        guard let info = pageInfo(pfn: pfn) else { return ["page dumped because: \(reason)"] }
        let pageAddr = layout.arch == .x86_64 ? layout.vmemmapBase &+ pfn &* 64
            : layout.pageOffset &+ (layout.memmapPfnStart << 12) &+ pfn &* 32
        var l = ["page:\(hashedPointer(pageAddr)) refcount:\(info.refcount) mapcount:\(info.mapcount) "
            + "mapping:\(hexPad(0, pointerDigits)) index:0x0 pfn:\(hex(pfn))"]
        if let h = info.headPfn, let o = info.order ?? pageInfo(pfn: h)?.order, o > 0 {
            let headAddr = layout.arch == .x86_64 ? layout.vmemmapBase &+ h &* 64
                : layout.pageOffset &+ (layout.memmapPfnStart << 12) &+ h &* 32
            l.append("head:\(hashedPointer(headAddr)) order:\(o) entire_mapcount:0 nr_pages_mapped:0 pincount:0")
        }
        let names = (info.flagNames + ["node=0", "zone=\(info.zoneNumber)"]).joined(separator: "|")
        l.append("flags: \(hex(info.flags))(\(names))")
        if info.owner == "free" {
            l.append("page_type: 0xffffff7f(buddy)")
        } else {
            l.append("page_type: 0xffffffff()")
        }
        l.append("page dumped because: \(reason)")
        return l
    }

    /// `__get_free_pages(flags, order)`: the direct-map address of new pages
    /// (__GFP_HIGHMEM is dropped, as the kernel does), or nil.
    public func getFreePages(_ flags: GFP, order: Int) throws -> UInt64? {
        var f = flags
        f.remove(.highmem)
        guard let page = try allocPages(f, order: order) else { return nil }
        return pageAddress(page)
    }

    /// `get_zeroed_page(flags)`.
    public func getZeroedPage(_ flags: GFP) throws -> UInt64? { try getFreePages(flags.union(.zero), order: 0) }

    /// `free_pages(addr, order)`: addr 0 is ignored; an address outside the
    /// direct map hits VM_BUG_ON(!virt_addr_valid(addr)) (an Oops).
    public func freePagesAddress(_ addr: UInt64, order: Int) throws {
        if addr == 0 { return }
        guard virtAddrValid(addr) else {
            let s = KernelSite.freePagesInvalid
            throw kernelBug(file: s.0, line: s.1, function: "free_pages", address: addr)
        }
        try freePages(Page(pfn: try pa(addr) >> 12), order: order)
    }

    /// `free_page(addr)`.
    public func freePage(_ addr: UInt64) throws { try freePagesAddress(addr, order: 0) }
}
