/// Dedicated slab caches: kmem_cache_create() and friends (mm/slab_common.c,
/// mm/slub.c, 6.x SLUB).
///
/// Geometry as SLUB computes it: `calculate_alignment()` (SLAB_HWCACHE_ALIGN
/// rounds up to the 64-byte cache line, halving it while the object fits
/// in half; at least ARCH_SLAB_MINALIGN = 8; a word multiple), then
/// `calculate_sizes()` (the object rounded to a word; SLAB_RED_ZONE adds a
/// word after an object that filled its words, a left red zone of one
/// aligned word and a word for the right red zone; SLAB_POISON, a
/// constructor, or a red zone on an object smaller than a pointer put the
/// free pointer after the object instead of inside it) and the slab order
/// of `calculate_order()` for one CPU. KASAN's per-object metadata is not
/// modelled (kmlab's KASAN keeps its records outside the slab), so sizes
/// are those of a kernel without KASAN.
///
/// Merging: kmlab never merges a new cache into an existing one, as a
/// kernel booted with `slab_nomerge` (the SLUB default otherwise aliases
/// a compatible cache — no constructor, no debug flags, similar size — to
/// an existing one, and the new name then has no line of its own in
/// /proc/slabinfo). Every cache therefore shows as its own line, which is
/// what a learner looking for their cache expects. Caches with a
/// constructor or SLAB_POISON/SLAB_RED_ZONE are never merged by SLUB either.
public enum SlabFlags {
    public static let consistencyChecks: UInt32 = 0x0000_0100
    public static let redZone: UInt32 = 0x0000_0400
    public static let poison: UInt32 = 0x0000_0800
    public static let hwcacheAlign: UInt32 = 0x0000_2000
    public static let cacheDMA: UInt32 = 0x0000_4000
    public static let cacheDMA32: UInt32 = 0x0000_8000
    public static let storeUser: UInt32 = 0x0001_0000
    public static let reclaimAccount: UInt32 = 0x0002_0000
    public static let panic: UInt32 = 0x0004_0000
    public static let typesafeByRCU: UInt32 = 0x0008_0000
    public static let memSpread: UInt32 = 0x0010_0000
    public static let trace: UInt32 = 0x0020_0000
    public static let noLeakTrace: UInt32 = 0x0080_0000
    public static let noMerge: UInt32 = 0x0100_0000
    public static let failslab: UInt32 = 0x0200_0000
    public static let account: UInt32 = 0x0400_0000

    /// Flags kmem_cache_create accepts (SLAB_FLAGS_PERMITTED); others are -EINVAL.
    static let permitted: UInt32 = consistencyChecks | redZone | poison | hwcacheAlign | cacheDMA | cacheDMA32
        | storeUser | reclaimAccount | panic | typesafeByRCU | memSpread | trace | noLeakTrace | noMerge
        | failslab | account

    /// The names kmlab exports to Lua, with their values (include/linux/slab.h).
    public static let exported: [(name: String, value: UInt32)] = [
        ("SLAB_HWCACHE_ALIGN", hwcacheAlign), ("SLAB_POISON", poison), ("SLAB_RED_ZONE", redZone),
        ("SLAB_PANIC", panic), ("SLAB_CACHE_DMA", cacheDMA), ("SLAB_ACCOUNT", account),
        ("SLAB_FAILSLAB", failslab),
    ]
}

/// The slab debugging byte patterns (include/linux/poison.h).
enum SlabPoison {
    static let redInactive: UInt8 = 0xbb
    static let redActive: UInt8 = 0xcc
    static let free: UInt8 = 0x6b
    static let end: UInt8 = 0xa5
}

/// What a Lua-side caller needs to know of a cache (kmlab's `kmem_cache` value).
public struct CacheHandle: Hashable, Sendable {
    public let index: Int
    public init(index: Int) { self.index = index }
}

/// A call the cache API refuses: a destroyed or unknown cache.
public struct CacheError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

extension Machine {
    /// calculate_alignment() (mm/slab_common.c); x86's cache line is 64 bytes.
    static func slabAlignment(flags: UInt32, align: Int, size: Int, pointerSize: Int) -> Int {
        var a = align
        if flags & SlabFlags.hwcacheAlign != 0 {
            var ralign = 64
            while size <= ralign / 2 { ralign /= 2 }
            a = max(a, ralign)
        }
        a = max(a, 8)
        return (a + pointerSize - 1) / pointerSize * pointerSize
    }

    /// calculate_sizes() (mm/slub.c) without KASAN metadata or
    /// SLAB_STORE_USER tracks: (slot size, free pointer offset, s->inuse,
    /// left red zone).
    static func slabSlotLayout(objectSize: Int, align: Int, flags: UInt32, hasCtor: Bool,
                               pointerSize: Int) -> (size: Int, offset: Int, inuse: Int, redLeft: Int) {
        let ptr = pointerSize
        var size = (objectSize + ptr - 1) / ptr * ptr
        if flags & SlabFlags.redZone != 0 && size == objectSize { size += ptr }
        let inuse = size
        let offset: Int
        if flags & (SlabFlags.typesafeByRCU | SlabFlags.poison) != 0
            || (flags & SlabFlags.redZone != 0 && objectSize < ptr) || hasCtor {
            offset = size
            size += ptr
        } else {
            offset = (objectSize / 2) / ptr * ptr
        }
        var redLeft = 0
        if flags & SlabFlags.redZone != 0 {
            size += ptr
            redLeft = (ptr + align - 1) / align * align
            size += redLeft
        }
        size = (size + align - 1) / align * align
        return (size, offset, inuse, redLeft)
    }

    // MARK: the API

    /// `kmem_cache_create(name, size, align, flags, ctor)`: a new cache, or
    /// nil after the kernel's `kmem_cache_create(NAME) failed with error
    /// -22` warning and a stack (a panic with SLAB_PANIC). Sleeps (it takes
    /// slab_mutex): from atomic context the might-sleep report comes first,
    /// and from interrupt context the sanity check refuses.
    public func kmemCacheCreate(name: String, size: Int, align: Int, flags: UInt32,
                                ctor: ((UInt64) throws -> Void)?) throws -> CacheHandle? {
        guard slab.v6 else {
            throw KernelArgumentError("kmem_cache_create", "era", "is modelled for era \"6.x\" (SLUB) only; boot{era=\"6.x\"}")
        }
        guard align >= 0 else {
            throw KernelArgumentError("kmem_cache_create", "align", "must be a non-negative integer, got \(align)")
        }
        if !contexts.canSleep { mightSleep(file: "kernel/locking/mutex.c", line: 283) }
        var err = 0
        if contexts.inInterrupt || size > Int(layout.kmallocMaxSize) || size <= 0 {
            printk("kmem_cache_create(\(name)) integrity check failed")
            err = -22
        } else if flags & ~SlabFlags.permitted != 0 {
            err = -22
        }
        var created: KmemCache?
        if err == 0 {
            created = makeCache(name: name, objectSize: size, align: align, flags: flags, ctor: ctor)
            if created == nil { err = -22 }
        }
        guard let c = created else {
            if flags & SlabFlags.panic != 0 {
                let lines = ["Kernel panic - not syncing: kmem_cache_create: Failed to create slab '\(name)'. Error \(err)"]
                    + dumpStackLines(kernelFrames: ["dump_stack_lvl", "panic", "kmem_cache_create_usercopy", "kmem_cache_create"].map { symbol($0) })
                    + ["---[ end Kernel panic - not syncing: kmem_cache_create: Failed to create slab '\(name)'. Error \(err) ]---"]
                throw oops(kind: .bug, lines: lines, fields: ["cache": name, "error": String(err)])
            }
            printk((["kmem_cache_create(\(name)) failed with error \(err)"]
                + dumpStackLines(kernelFrames: ["dump_stack_lvl", "kmem_cache_create_usercopy", "kmem_cache_create"].map { symbol($0) }))
                .joined(separator: "\n"))
            return nil
        }
        charge(Cost.newSlab)
        return CacheHandle(index: c.index)
    }

    /// create_cache() → __kmem_cache_create() → calculate_sizes(): nil when
    /// no slab order up to MAX_PAGE_ORDER holds an object.
    func makeCache(name: String, objectSize: Int, align: Int, flags: UInt32,
                   ctor: ((UInt64) throws -> Void)?) -> KmemCache? {
        let ptr = layout.pointerSize
        let a = Machine.slabAlignment(flags: flags, align: align, size: objectSize, pointerSize: ptr)
        let l = Machine.slabSlotLayout(objectSize: objectSize, align: a, flags: flags, hasCtor: ctor != nil, pointerSize: ptr)
        let order = SlabAllocator.slubOrder(l.size)
        if order > Buddy.maxOrder { return nil }
        var minOrder = 0
        while (4096 << minOrder) < l.size { minOrder += 1 }
        var ilog = 0
        while (1 << (ilog + 1)) <= l.size { ilog += 1 }
        var allocFlags: GFP = order > 0 ? [.comp] : []
        if flags & SlabFlags.cacheDMA != 0 { allocFlags.insert(.dma) }
        if flags & SlabFlags.cacheDMA32 != 0 { allocFlags.insert(GFP(rawValue: 0x04)) }
        if flags & SlabFlags.reclaimAccount != 0 { allocFlags.insert(.reclaimable) }
        let c = KmemCache(name: name, index: slab.caches.count, type: flags & SlabFlags.reclaimAccount != 0 ? .reclaim : .normal,
                          size: l.size, order: order, minOrder: minOrder, objsPerSlab: (4096 << order) / l.size,
                          freePointerOffset: l.offset, mgmtSize: 0, colourCount: 0, colourOff: 0,
                          minPartial: max(5, min(10, ilog / 2)), limit: 0, batchcount: 0, shared: 0,
                          allocFlags: allocFlags)
        c.objectSize = objectSize
        c.inuseBytes = l.inuse
        c.redLeftPad = l.redLeft
        c.slabFlags = flags
        c.align = a
        c.ctor = ctor
        c.created = true
        slab.caches.append(c)
        return c
    }

    /// The cache behind a handle, or the error for a destroyed one.
    func cache(_ h: CacheHandle, _ function: String) throws -> KmemCache {
        guard h.index >= 0, h.index < slab.caches.count, slab.caches[h.index].created else {
            throw KernelArgumentError(function, "cache", "is not a cache from kmem_cache_create")
        }
        let c = slab.caches[h.index]
        if c.destroyed {
            throw KernelArgumentError(function, "cache", "\(c.name) was destroyed by kmem_cache_destroy (a use after free of the cache)")
        }
        return c
    }

    /// The cache's name and sizes, for the Lua value (also for a destroyed cache).
    public func cacheInfo(_ h: CacheHandle) -> (name: String, objectSize: Int, size: Int, align: Int,
                                                objectsPerSlab: Int, order: Int, destroyed: Bool)? {
        guard h.index >= 0, h.index < slab.caches.count, slab.caches[h.index].created else { return nil }
        let c = slab.caches[h.index]
        return (c.name, c.objectSize, c.size, c.align, c.objsPerSlab, c.order, c.destroyed)
    }

    /// `kmem_cache_size(cache)`: s->object_size.
    public func kmemCacheSize(_ h: CacheHandle) throws -> Int { try cache(h, "kmem_cache_size").objectSize }

    /// `kmem_cache_alloc(cache, flags)` (and `kmem_cache_zalloc` with
    /// __GFP_ZERO): an object, or nil. Objects come back as the allocator
    /// left them: constructed once when their slab was made (not again),
    /// poisoned 0x6b..0xa5 in a SLAB_POISON cache, otherwise the bytes of
    /// their last use.
    public func kmemCacheAlloc(_ h: CacheHandle, _ flagsIn: GFP, function: String = "kmem_cache_alloc") throws -> UInt64? {
        let c = try cache(h, function)
        if c.inConstructor {
            throw KernelArgumentError(function, "cache", "\(c.name) is being populated: its constructor cannot allocate from it")
        }
        let flags = flagsIn
        if flags.allowsBlocking && !contexts.canSleep {
            let site = KernelSite.allocMightSleep(config.era)
            mightSleep(file: site.0, line: site.1)
        }
        if kswapdPending { runKswapdIfPending() }
        stats.kmallocs &+= 1
        if shouldFailslab(objectSize: c.objectSize, failslabFlag: c.slabFlags & SlabFlags.failslab != 0, flags,
                          caller: "kmem_cache_alloc") {
            stats.allocFailures += 1
            return nil
        }
        guard let p = try slabAlloc(c, c.objectSize, flags) else { return nil }
        if c.redLeftPad > 0 || c.inuseBytes > c.objectSize { try paintRedZones(c, p, SlabPoison.redActive) }
        if flags.contains(.zero) { try zeroVirtual(p, c.objectSize) }
        return p
    }

    /// `kmem_cache_free(cache, p)`: NULL is ignored. An object of another
    /// cache gets cache_from_obj()'s WARN (mm/slab.h with
    /// CONFIG_SLAB_FREELIST_HARDENED) and is freed to the cache it belongs to;
    /// a pointer that is no slab object gets KASAN's invalid-free report.
    public func kmemCacheFree(_ h: CacheHandle, _ p: UInt64) throws {
        let c = try cache(h, "kmem_cache_free")
        if c.inConstructor {
            throw KernelArgumentError("kmem_cache_free", "cache", "\(c.name) is being populated: its constructor cannot free to it")
        }
        stats.kfrees &+= 1
        if p == 0 { return }
        guard let o = kmallocObject(containing: p), let owner = o.cache else {
            kasanInvalidFree(p, double: false, function: "kmem_cache_free")
            return
        }
        if owner !== c {
            // cache_from_obj()'s WARN (mm/slab.h), printed as every WARN is.
            var r = warnReport(message: "cache_from_obj: Wrong slab cache. \(c.name) but object is from \(owner.name)",
                               file: "mm/slab.h", line: 612, function: "kmem_cache_free",
                               fields: ["expected_cache": c.name, "object_cache": owner.name])
            r.address = p
            r.cache = owner.name
            raise(r)
        }
        try freeObject(owner, p, function: "kmem_cache_free")
    }

    /// Frees `p` to cache `c` (the cache it belongs to).
    func freeObject(_ c: KmemCache, _ p: UInt64, function: String) throws {
        guard let o = kmallocObject(containing: p), o.cache === c else {
            kasanInvalidFree(p, double: false, function: function)
            return
        }
        try slabFree(c, o.slabIndex, p, function: function)
    }

    /// init_object(SLUB_RED_INACTIVE) of a freed object: poison (without a
    /// constructor) and inactive red zones.
    func markFreed(_ c: KmemCache, _ p: UInt64) throws {
        if c.slabFlags & SlabFlags.poison != 0 && c.ctor == nil { try poisonObject(c, p) }
        if c.redLeftPad > 0 || c.inuseBytes > c.objectSize { try paintRedZones(c, p, SlabPoison.redInactive) }
    }

    /// `kmem_cache_destroy(cache)`: frees the cache's empty slabs and the
    /// cache. With objects still allocated the kernel keeps the cache, warns
    /// `kmem_cache_destroy NAME: Slab cache still has objects when called
    /// from CALLER` with a stack, and the objects leak.
    public func kmemCacheDestroy(_ h: CacheHandle) throws {
        let c = try cache(h, "kmem_cache_destroy")
        if c.inConstructor {
            throw KernelArgumentError("kmem_cache_destroy", "cache", "\(c.name) is being populated by its constructor")
        }
        if !contexts.canSleep { mightSleep(file: "kernel/locking/mutex.c", line: 283) }
        if c.inuse > 0 {
            var r = warnReport(message: "kmem_cache_destroy \(c.name): Slab cache still has objects when called from \(scriptCallerSite)",
                               file: "mm/slab_common.c", line: 511, function: "kmem_cache_destroy",
                               fields: ["objects": String(c.inuse)])
            r.cache = c.name
            raise(r)
            return
        }
        // __kmem_cache_shutdown(): flush the CPU slab, discard every slab.
        for si in 0..<c.slabState.count where c.slabState[si] != 0 { discardSlab(c, si) }
        c.partial.removeAll()
        c.cpuSlab = -1
        c.otherCpuSlabs.removeAll()
        c.destroyed = true
        c.ctor = nil
    }

    // MARK: slab population and debugging patterns

    /// setup_object() for every object of a new slab: poison and red zones
    /// first (init_object), then the constructor, in address order.
    func setUpObjects(_ c: KmemCache, slab si: Int) throws {
        let n = Int(c.slabObjects[si])
        let base = c.slabAddr[si]
        let painted = c.redLeftPad > 0 || c.inuseBytes > c.objectSize
        let poisoned = c.slabFlags & SlabFlags.poison != 0 && c.ctor == nil
        for i in 0..<n where poisoned || painted {
            let p = base &+ UInt64(i * c.size)
            if poisoned { try poisonObject(c, p) }
            if painted { try paintRedZones(c, p, SlabPoison.redInactive) }
        }
        guard let ctor = c.ctor else { return }
        c.inConstructor = true
        defer { c.inConstructor = false }
        for i in 0..<n {
            // kasan_unpoison_new_object(): the constructor may write the
            // object; it is poisoned again (never allocated) afterwards.
            let idx = si * c.objsPerSlab + i
            c.objReq[idx] = Int32(c.objectSize)
            do {
                try ctor(base &+ UInt64(i * c.size))
            } catch {
                c.objReq[idx] = -2
                throw error
            }
            c.objReq[idx] = -2
        }
    }

    /// POISON_FREE over the object, POISON_END in its last byte.
    func poisonObject(_ c: KmemCache, _ p: UInt64) throws {
        guard c.objectSize > 0 else { return }
        try fillDirect(p, SlabPoison.free, c.objectSize - 1)
        try fillDirect(p &+ UInt64(c.objectSize - 1), SlabPoison.end, 1)
    }

    /// The left red zone and the bytes between the object and s->inuse.
    func paintRedZones(_ c: KmemCache, _ p: UInt64, _ value: UInt8) throws {
        if c.redLeftPad > 0 { try fillDirect(p &- UInt64(c.redLeftPad), value, c.redLeftPad) }
        if c.inuseBytes > c.objectSize { try fillDirect(p &+ UInt64(c.objectSize), value, c.inuseBytes - c.objectSize) }
    }

    /// Fills direct-map bytes the allocator owns, without KASAN (the
    /// allocator's own writes).
    func fillDirect(_ p: UInt64, _ value: UInt8, _ n: Int) throws {
        var done = 0
        while done < n {
            let pa = p &- layout.pageOffset &+ UInt64(done)
            let off = Int(pa & 4095)
            let len = min(4096 - off, n - done)
            try phys.fill(pa >> 12, off, value, len)
            done += len
        }
    }
}
