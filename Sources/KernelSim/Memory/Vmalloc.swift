/// A vmalloc area (struct vm_struct + vmap_area): virtually contiguous,
/// backed by order-0 pages one PTE each, followed by an unmapped guard page.
final class VmArea {
    let id: Int32
    let start: UInt64
    /// Size including the guard page, as /proc/vmallocinfo shows it.
    let size: UInt64
    /// Bytes asked for (KASAN poisons the rest of the mapped pages).
    var requested: Int
    var pages: [UInt64]
    /// `%pS` of the caller, for /proc/vmallocinfo.
    let caller: String
    var info: AllocInfo
    /// kmemleak_free() has run (vfree_atomic): kmemleak no longer tracks it,
    /// though the area waits for the workqueue to be freed.
    var kmemleakFreed = false
    /// vfree() has unmapped it and freed its pages, but its address range
    /// waits on the lazy purge list (TlbShootdown.swift): no longer an area
    /// of anyone's, not yet a hole.
    var lazilyFreed = false
    /// One of the kernel's own areas from boot (BootVmallocUsers.swift): not
    /// the script's, never a leak, never freed by the script's vfree.
    var kernelOwned = false
    /// The kind /proc/vmallocinfo names (`vmalloc`, `ioremap`).
    var flagName = "vmalloc"
    /// An ioremap's physical address (`phys=%pa`).
    var physAddr: UInt64?
    /// Whether `pages` backs the whole area (false for ioremap and per-cpu
    /// chunks, whose memory is not the area's own pages).
    var pageBacked = true

    init(id: Int32, start: UInt64, size: UInt64, requested: Int, pages: [UInt64], caller: String, info: AllocInfo) {
        self.id = id
        self.start = start
        self.size = size
        self.requested = requested
        self.pages = pages
        self.caller = caller
        self.info = info
    }

    var end: UInt64 { start &+ size }
}

/// The vmalloc address space: areas sorted by address, allocated first-fit
/// from VMALLOC_START (find_vmap_lowest_match).
final class VmallocSpace {
    /// Every range in use, sorted by address: the live areas and those
    /// waiting to be purged (`lazilyFreed`).
    private(set) var occupied: [VmArea] = []
    /// The lazily freed areas, in the order they were freed.
    private(set) var lazy: [VmArea] = []
    var byId: [Int32: VmArea] = [:]
    var nextId: Int32 = 1
    /// The bottom of the space: the first hole starts here.
    let base: UInt64
    /// The hole below each area, for `findHole`.
    private var holes = VmallocHoleIndex()

    init(base: UInt64) {
        self.base = base
    }

    /// The live areas, sorted by address (what /proc/vmallocinfo lists).
    var areas: [VmArea] { lazy.isEmpty ? occupied : occupied.filter { !$0.lazilyFreed } }

    /// free_vmap_area_noflush(): the area is nobody's any more, but its
    /// range stays taken until the purge.
    func markLazilyFreed(_ a: VmArea) {
        guard !a.lazilyFreed, byId[a.id] === a else { return }
        a.lazilyFreed = true
        byId[a.id] = nil
        lazy.append(a)
    }

    /// Takes the purge list (llist_del_all): the caller frees the ranges.
    func takeLazy() -> [VmArea] {
        let l = lazy
        lazy.removeAll()
        return l
    }

    /// Index of the last area starting at or below `va`.
    func indexAtOrBelow(_ va: UInt64) -> Int? {
        var lo = 0, hi = occupied.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if occupied[mid].start <= va { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }

    /// The live area holding `va` (nil in a hole or a lazily freed range).
    func area(containing va: UInt64) -> VmArea? {
        guard let i = indexAtOrBelow(va) else { return nil }
        let a = occupied[i]
        return va < a.end && !a.lazilyFreed ? a : nil
    }

    func area(startingAt va: UInt64) -> VmArea? {
        guard let a = area(containing: va), a.start == va else { return nil }
        return a
    }

    /// The lowest hole of `size` bytes between `base` and `hi` (first fit,
    /// as find_vmap_lowest_match), in O(log n).
    func findHole(_ size: UInt64, _ hi: UInt64) -> UInt64? {
        var addr = holeStart(below: occupied.count)
        if let s = holes.lowestArea(withGapAtLeast: size), let i = indexAtOrBelow(s) {
            addr = holeStart(below: i)
        }
        guard addr <= hi, hi - addr >= size else { return nil }
        return addr
    }

    /// Where the hole below `occupied[i]` starts (`i == occupied.count`: the hole above the last area).
    private func holeStart(below i: Int) -> UInt64 {
        i > 0 && i <= occupied.count ? max(base, occupied[i - 1].end) : base
    }

    private func hole(below i: Int) -> UInt64 {
        let s = holeStart(below: i)
        return occupied[i].start > s ? occupied[i].start - s : 0
    }

    func insert(_ a: VmArea) {
        let i = indexAtOrBelow(a.start).map { $0 + 1 } ?? 0
        occupied.insert(a, at: i)
        byId[a.id] = a
        holes.insert(start: a.start, gap: hole(below: i))
        if i + 1 < occupied.count { holes.setGap(start: occupied[i + 1].start, gap: hole(below: i + 1)) }
    }

    /// Gives the range back (a live area freed at once, or a purged one).
    func remove(_ a: VmArea) {
        if let i = indexAtOrBelow(a.start), occupied[i] === a {
            occupied.remove(at: i)
            holes.remove(start: a.start)
            if i < occupied.count { holes.setGap(start: occupied[i].start, gap: hole(below: i)) }
        }
        if byId[a.id] === a { byId[a.id] = nil }
    }

    /// Pages mapped by vmalloc (VmallocUsed in 5.x+).
    var usedPages: Int { areas.reduce(0) { $0 + $1.pages.count } }
}

extension Machine {
    /// `vmalloc(size)`: whole pages, one at a time from the page allocator
    /// (HighMem first where there is one), each mapped by its own PTE in the
    /// vmalloc area, plus an unmapped guard page. May sleep.
    public func vmalloc(_ size: Int) throws -> UInt64? {
        try vmallocCore(size, .kernel, function: "vmalloc")
    }

    /// `vzalloc(size)`: vmalloc of zeroed pages.
    public func vzalloc(_ size: Int) throws -> UInt64? {
        try vmallocCore(size, [.kernel, .zero], function: "vzalloc")
    }

    /// __vmalloc_node_range() (mm/vmalloc.c).
    func vmallocCore(_ size: Int, _ gfp: GFP, function: String) throws -> UInt64? {
        guard size >= 0 else { throw KernelArgumentError(function, "size", "must be a non-negative integer, got \(size)") }
        if contexts.inInterrupt {
            let bug = KernelSite.vmallocInInterrupt(config.era)
            throw kernelBug(file: bug.0, line: bug.1, function: "__get_vm_area_node")
        }
        let site = KernelSite.vmallocMightSleep(config.era)
        mightSleep(file: site.0, line: site.1)
        runKswapdIfPending()
        stats.vmallocs &+= 1
        if size == 0 {
            if config.era == .v6 {
                warnOnce("vmalloc-size-0", site: KernelSite.vmallocZeroSize, function: "__vmalloc_node_range")
            }
            return nil
        }
        let realSize = (UInt64(size) + 4095) & ~UInt64(4095)
        let nr = Int(realSize >> 12)
        if UInt64(nr) > totalRAMPages {
            if !gfp.contains(.nowarn) { warnAlloc(gfp, "vmalloc error: size \(realSize), exceeds total pages") }
            return nil
        }
        let areaSize = realSize + 4096
        var hole = vm.findHole(areaSize, layout.vmallocEnd)
        // alloc_vmap_area(): out of address space, purge the lazily freed
        // areas (reclaim_and_purge_vmap_areas) and try once more.
        if hole == nil && purgeVmapAreaLazy() { hole = vm.findHole(areaSize, layout.vmallocEnd) }
        guard let start = hole else {
            if !gfp.contains(.nowarn) {
                log.print("vmap allocation for size \(areaSize) failed: use vmalloc=<size> to increase size",
                          timeNanoseconds: clockNanoseconds)
                warnAlloc(gfp, "vmalloc error: size \(realSize), vm_struct allocation failed")
            }
            return nil
        }
        // Budget for the page tables the mapping may need.
        if !phys.canStore(frames: nr / 512 + 3) { throw SimulatorLimitError.memoryLimitExceeded(limit: phys.limit) }
        let id = vm.nextId
        vm.nextId += 1
        var pageGfp = gfp
        if gfp.rawValue & (GFP.dma.rawValue | GFP.dma32.rawValue) == 0 { pageGfp.insert(.highmem) }
        var pages: [UInt64] = []
        pages.reserveCapacity(nr)
        for _ in 0..<nr {
            guard let pfn = allocPagesInternal(pageGfp, order: 0, owner: Owner.vmalloc, aux: UInt32(bitPattern: id)) else {
                for p in pages { freePagesInternal(p, order: 0) }
                try throwIfPanicked()
                if !gfp.contains(.nowarn) {
                    warnAlloc(gfp, "vmalloc error: size \(realSize), failed to allocate pages")
                }
                return nil
            }
            pages.append(pfn)
        }
        var mapped = 0
        do {
            for (i, pfn) in pages.enumerated() {
                guard try mapPage(start &+ UInt64(i) << 12, pfn: pfn) else {
                    throw VmallocMapFailure()
                }
                mapped += 1
            }
        } catch {
            for i in 0..<mapped { try? unmapPage(start &+ UInt64(i) << 12) }
            for p in pages { freePagesInternal(p, order: 0) }
            if error is VmallocMapFailure {
                if !gfp.contains(.nowarn) { warnAlloc(gfp, "vmalloc error: size \(realSize), failed to map pages") }
                return nil
            }
            throw error
        }
        var info = newAllocInfo()
        info.size = size
        let a = VmArea(id: id, start: start, size: areaSize, requested: size, pages: pages, caller: scriptCallerSite,
                       info: info)
        vm.insert(a)
        charge(Cost.vmallocSetup)
        return start
    }

    /// `vfree(p)`: unmaps the area, flushes the TLB, frees its pages. NULL is
    /// ignored; anything that is not the start of a vmalloc area gets the
    /// kernel's "Trying to vfree() nonexistent vm area" warning. In
    /// interrupt context — `in_interrupt()`, which bottom halves disabled
    /// make true as well — mm/vmalloc.c vfree() hands the address to
    /// vfree_atomic() and returns without sleeping: the area stays mapped
    /// (and in /proc/vmallocinfo) until the workqueue frees it.
    public func vfree(_ p: UInt64) throws {
        stats.vfrees &+= 1
        if contexts.inInterrupt {
            if config.era == .v2_6 {
                // 2.6.18 vfree(): BUG_ON(in_interrupt()); deferral came later (vfree_atomic, 4.10).
                let site = KernelSite.vfreeMightSleep(.v2_6)
                throw kernelBug(file: site.0, line: site.1, function: "vfree")
            }
            vfreeAtomic(p)
            return
        }
        let site = KernelSite.vfreeMightSleep(config.era)
        mightSleep(file: site.0, line: site.1)
        try vfreeNow(p)
    }

    /// `vfree_atomic()` (mm/vmalloc.c): kmemleak forgets the object at once;
    /// the address joins the per-CPU `vfree_deferred` llist, and the first
    /// one added schedules its work item, `delayed_vfree_work`, which vfrees
    /// them all from a kworker.
    func vfreeAtomic(_ p: UInt64) {
        guard p != 0 else { return }
        vm.area(startingAt: p)?.kmemleakFreed = true
        vfreeDeferred.append(p)
        if vfreeDeferred.count == 1 { scheduleWork(delayedVfreeWork) }
    }

    /// The `vfree_deferred` work item of CPU#0.
    var delayedVfreeWork: WorkItem {
        if let w = delayedVfreeWorkItem { return w }
        let w = WorkItem(name: "delayed_vfree_work") { [weak self] in
            guard let self else { return }
            // llist_del_all() hands the list back newest first.
            let pending = self.vfreeDeferred.reversed()
            self.vfreeDeferred.removeAll()
            for p in pending { try self.vfreeNow(p) }
        }
        delayedVfreeWorkItem = w
        return w
    }

    /// The freeing half of vfree(): remove_vm_area(), unmap, free the pages.
    func vfreeNow(_ p: UInt64) throws {
        if p == 0 { return }
        guard let a = vm.area(startingAt: p), !a.kernelOwned else {
            let site = KernelSite.vfreeNonexistent
            var r = warnReport(message: "Trying to vfree() nonexistent vm area (\(hashedPointer(p)))",
                               file: site.0, line: site.1, function: "vfree", kind: .invalidFree, kernelFrames: [],
                               fields: ["site": "\(site.0):\(site.1)",
                                        "reason": layout.isDirectMap(p) ? "not a vmalloc address (direct map)" : "no vm area starts here"])
            r.address = p
            raise(r)
            return
        }
        if purgesVmapLazily {
            try freeVmapAreaLazily(a)
            return
        }
        for i in 0..<a.pages.count { try unmapPage(a.start &+ UInt64(i) << 12) }
        flushTLB(a.start, a.end)
        for pfn in a.pages { freePagesInternal(pfn, order: 0) }
        vm.remove(a)
        charge(Cost.vfreeTeardown)
    }

    /// `kvmalloc(size, flags)` (mm/util.c kvmalloc_node): kmalloc first —
    /// without warnings or retries above a page — then vmalloc for sleeping
    /// callers.
    public func kvmalloc(_ size: Int, _ flags: GFP) throws -> UInt64? {
        guard size >= 0 else { throw KernelArgumentError("kvmalloc", "size", "must be a non-negative integer, got \(size)") }
        var kflags = flags
        if size > 4096 {
            kflags.insert(.nowarn)
            if !kflags.contains(.retryMayfail) { kflags.insert(.noretry) }
            kflags.remove(.nofail)
        }
        if let p = try kmallocCore(size, kflags, function: "kvmalloc") { return p }
        if size <= 4096 { return nil }
        if !flags.allowsBlocking { return nil }
        if size > Int(Int32.max) {
            if !flags.contains(.nowarn) {
                warnOnce("kvmalloc-int-max", site: ("mm/util.c", 637), function: "kvmalloc_node")
            }
            return nil
        }
        return try vmallocCore(size, flags, function: "kvmalloc")
    }

    /// `kvzalloc(size, flags)`.
    public func kvzalloc(_ size: Int, _ flags: GFP) throws -> UInt64? { try kvmalloc(size, flags.union(.zero)) }

    /// `kvfree(p)`: vfree for vmalloc addresses, kfree otherwise.
    public func kvfree(_ p: UInt64) throws {
        if layout.isVmallocAddr(p) { try vfree(p) } else { try kfree(p) }
    }
}

struct VmallocMapFailure: Error {}
