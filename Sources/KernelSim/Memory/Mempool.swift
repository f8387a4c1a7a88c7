/// Memory pools (mm/mempool.c): a reserve of preallocated elements that
/// guarantees forward progress when the allocator fails.
///
/// `mempool_alloc` tries the underlying allocator first, with
/// __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN added and, on the first
/// round, without __GFP_DIRECT_RECLAIM and __GFP_IO; the reserve is used
/// only when that fails. With the reserve empty, a caller that cannot sleep
/// gets NULL; one that can retries with its full flags, then sleeps until
/// `mempool_free` refills the reserve (io_schedule_timeout(5*HZ), then
/// again). In the simulation the sleep runs the deferred work and pending
/// interrupts that could free an element; when nothing is left that could,
/// the wait would never end and kmlab reports it and ends the task.
public final class Mempool {
    /// What the element allocator is.
    public enum Kind {
        /// mempool_create_kmalloc_pool: kmalloc(size) / kfree.
        case kmalloc(size: Int)
        /// mempool_create_slab_pool: kmem_cache_alloc / kmem_cache_free.
        case slab(CacheHandle)
        /// mempool_create_page_pool: alloc_pages(order) / __free_pages.
        case pages(order: Int)
        /// mempool_create with the caller's functions.
        case custom(alloc: (GFP) throws -> MempoolElement?, free: (MempoolElement) throws -> Void)
    }

    public let kind: Kind
    public internal(set) var minNr: Int
    /// The reserve (pool->elements): the last one added is taken first.
    public internal(set) var elements: [MempoolElement] = []
    public var currNr: Int { elements.count }
    public internal(set) var destroyed = false
    /// How often the reserve served an allocation (for lessons and benches).
    public internal(set) var reserveHits = 0

    init(kind: Kind, minNr: Int) {
        self.kind = kind
        self.minNr = minNr
    }
}

/// A pool element: an address (kmalloc, slab, custom pools) or a page.
public enum MempoolElement: Hashable, Sendable {
    case address(UInt64)
    case page(pfn: UInt64)
}

extension Machine {
    /// pool->alloc(gfp, pool->pool_data).
    func mempoolAllocElement(_ pool: Mempool, _ gfp: GFP) throws -> MempoolElement? {
        switch pool.kind {
        case .kmalloc(let size):
            return try kmalloc(size, gfp).map { .address($0) }
        case .slab(let cache):
            return try kmemCacheAlloc(cache, gfp).map { .address($0) }
        case .pages(let order):
            return try allocPages(gfp, order: order).map { .page(pfn: $0.pfn) }
        case .custom(let alloc, _):
            return try alloc(gfp)
        }
    }

    /// pool->free(element, pool->pool_data).
    func mempoolFreeElement(_ pool: Mempool, _ element: MempoolElement) throws {
        switch (pool.kind, element) {
        case (.kmalloc, .address(let p)):
            try kfree(p)
        case (.slab(let cache), .address(let p)):
            try kmemCacheFree(cache, p)
        case (.pages(let order), .page(let pfn)):
            try freePages(Page(pfn: pfn), order: order)
        case (.custom(_, let free), _):
            try free(element)
        case (.pages, .address(let p)):
            throw KernelArgumentError("mempool_free", "element", "must be a page for a page pool, got address \(hex(p))")
        case (_, .page):
            throw KernelArgumentError("mempool_free", "element", "must be an address for this pool, got a page")
        }
    }

    /// `mempool_create*(min_nr, ...)`: the pool with min_nr elements
    /// allocated with GFP_KERNEL, or nil (everything allocated so far freed)
    /// when one of them cannot be allocated.
    public func mempoolCreate(minNr: Int, kind: Mempool.Kind, function: String = "mempool_create") throws -> Mempool? {
        guard minNr >= 0 else {
            throw KernelArgumentError(function, "min_nr", "must be a non-negative integer, got \(minNr)")
        }
        guard minNr <= 1 << 20 else {
            throw KernelArgumentError(function, "min_nr", "must be at most 1048576, got \(minNr)")
        }
        if case .pages(let order) = kind, order > Buddy.maxOrder {
            throw KernelArgumentError(function, "order", "must be at most \(Buddy.maxOrder), got \(order)")
        }
        if !contexts.canSleep {
            let site = KernelSite.allocMightSleep(config.era)
            mightSleep(file: site.0, line: site.1)
        }
        let pool = Mempool(kind: kind, minNr: minNr)
        do {
            while pool.currNr < pool.minNr {
                guard let e = try mempoolAllocElement(pool, .kernel) else {
                    try mempoolExit(pool)
                    return nil
                }
                pool.elements.append(e)
            }
        } catch {
            // The element allocator failed (a Lua error): free what it gave.
            try? mempoolExit(pool)
            throw error
        }
        return pool
    }

    /// `mempool_alloc(pool, gfp_mask)`.
    public func mempoolAlloc(_ pool: Mempool, _ gfpIn: GFP) throws -> MempoolElement? {
        try checkPool(pool, "mempool_alloc")
        if gfpIn.allowsBlocking && !contexts.canSleep {
            let site = KernelSite.allocMightSleep(config.era)
            mightSleep(file: site.0, line: site.1)
        }
        let gfp = gfpIn.union([.nomemalloc, .noretry, .nowarn])
        var temp = GFP(rawValue: gfp.rawValue & ~(GFP.directReclaim.rawValue | GFP.io.rawValue))
        var waits = 0
        while true {
            if let e = try mempoolAllocElement(pool, temp) { return e }
            if pool.destroyed { throw KernelArgumentError("mempool_alloc", "pool", "was destroyed while the caller waited") }
            if let e = pool.elements.popLast() {
                pool.reserveHits += 1
                return e
            }
            if temp != gfp {
                temp = gfp
                continue
            }
            if !gfp.contains(.directReclaim) { return nil }
            // Sleep until mempool_free() wakes us (5 s at most), then retry.
            let workBefore = pendingWorkCount + pendingTaskletCount + contexts.pendingInterrupts.count
            try schedule(sleepingFor: 5_000_000_000, caller: "io_schedule_timeout")
            waits += 1
            if pool.currNr == 0 && (workBefore == 0 && pendingWorkCount + pendingTaskletCount == 0 || waits >= 1000) {
                // One more round with the full flags may still find memory.
                if let e = try mempoolAllocElement(pool, gfp) { return e }
                if let e = pool.elements.popLast() { pool.reserveHits += 1; return e }
                throw mempoolWaitForever(pool, waits: waits)
            }
        }
    }

    /// `mempool_free(element, pool)`: refills the reserve up to min_nr,
    /// else gives the element back to the allocator.
    public func mempoolFree(_ element: MempoolElement?, _ pool: Mempool) throws {
        guard let element else { return }
        try checkPool(pool, "mempool_free")
        if pool.currNr < pool.minNr {
            pool.elements.append(element)
            return
        }
        try mempoolFreeElement(pool, element)
    }

    /// `mempool_resize(pool, new_min_nr)`: shrinking frees reserve elements
    /// beyond the new minimum; growing allocates up to it with GFP_KERNEL
    /// (stopping quietly at the first failure). Returns 0, as the kernel
    /// does once its new element array is allocated.
    public func mempoolResize(_ pool: Mempool, _ newMinNr: Int) throws -> Int {
        try checkPool(pool, "mempool_resize")
        guard newMinNr > 0 else {
            throw KernelArgumentError("mempool_resize", "new_min_nr", "must be positive (the kernel's BUG_ON(new_min_nr <= 0)), got \(newMinNr)")
        }
        guard newMinNr <= 1 << 20 else {
            throw KernelArgumentError("mempool_resize", "new_min_nr", "must be at most 1048576, got \(newMinNr)")
        }
        if !contexts.canSleep { mightSleep(file: "mm/mempool.c", line: 299) }
        if newMinNr <= pool.minNr {
            while newMinNr < pool.currNr, let e = pool.elements.popLast() { try mempoolFreeElement(pool, e) }
            pool.minNr = newMinNr
            return 0
        }
        pool.minNr = newMinNr
        while pool.currNr < pool.minNr {
            guard let e = try mempoolAllocElement(pool, .kernel) else { break }
            pool.elements.append(e)
        }
        return 0
    }

    /// `mempool_destroy(pool)`: frees the reserve. Elements still held by
    /// callers are theirs to free (they are leaks otherwise).
    public func mempoolDestroy(_ pool: Mempool) throws {
        try checkPool(pool, "mempool_destroy")
        try mempoolExit(pool)
        pool.destroyed = true
    }

    func mempoolExit(_ pool: Mempool) throws {
        while let e = pool.elements.popLast() { try mempoolFreeElement(pool, e) }
    }

    func checkPool(_ pool: Mempool, _ function: String) throws {
        if pool.destroyed {
            throw KernelArgumentError(function, "pool", "was destroyed by mempool_destroy (a use after free of the pool)")
        }
    }

    /// The wait that cannot end: logged (the task's stack shows where it
    /// sleeps) and the task ends, as a hung task would be killed.
    func mempoolWaitForever(_ pool: Mempool, waits: Int) -> KernelOops {
        let cs = contexts
        let headline = "kmlab: task \(cs.currentComm):\(cs.currentPid) would wait for ever in mempool_alloc: the reserve is empty (min_nr \(pool.minNr), curr_nr 0) and nothing left to run can free an element"
        var lines = [headline,
                     "(a real kernel sleeps in io_schedule_timeout(5*HZ) and retries for ever, silently; \(waits * 5) s simulated)"]
        lines += dumpStackLines(kernelFrames: ["__schedule", "schedule", "schedule_timeout", "io_schedule_timeout", "mempool_alloc"]
            .map { symbol($0) })
        var report = KernelReport(kind: .hungTask, severity: .oops, lines: lines, context: cs.contextName,
                                  fields: contextFields(["min_nr": String(pool.minNr), "function": "mempool_alloc"]))
        report.headline = headline
        raise(report)
        return KernelOops(report: report)
    }
}
