/// Who allocated (or freed) something, for KASAN's "Allocated by task" /
/// "Freed by task" stacks and for kmemleak.
/// A trivial value: names and stacks are interned (`Machine.interned`).
struct AllocInfo {
    var pid: Int32 = 0
    var commId: Int32 = 0
    var traceId: Int32 = 0
    var freePid: Int32 = 0
    var freeTraceId: Int32 = 0
    var time: UInt64 = 0
    var seq: UInt64 = 0
    /// Requested size (large kmallocs, page allocations).
    var size: Int = 0
}

/// kmalloc cache types (include/linux/slab.h enum kmalloc_cache_type).
enum KmallocType: Int, CaseIterable {
    case normal = 0, reclaim, dma, cgroup
}

/// One kmem_cache: its geometry and its slabs.
///
/// Slabs are numbered; per-object state lives in flat arrays indexed by
/// `slab * objsPerSlab + object`. The allocation order is SLUB's: the CPU
/// slab's freelist first (LIFO: the last object freed into it is the next
/// one returned), then the most recently partial slab, then a new slab
/// whose objects come out in address order.
final class KmemCache {
    let name: String
    let index: Int
    let owner: UInt32
    let type: KmallocType
    /// Object size (s->size == s->object_size without debugging).
    let size: Int
    /// log2(size) when the size is a power of two, else -1: most size
    /// classes are, and a shift spares kfree a 64-bit division.
    let sizeShift: Int
    /// Slab order (oo) and the fallback order (s->min).
    let order: Int
    let minOrder: Int
    let objsPerSlab: Int
    /// SLUB's free pointer inside a free object (offset), or -1 (SLAB).
    let freePointerOffset: Int
    /// SLAB: management data before the first object (on-slab caches).
    let mgmtSize: Int
    /// SLAB cache colouring.
    let colourCount: Int
    let colourOff: Int
    var colourNext = 0
    let minPartial: Int
    /// SLAB tunables as /proc/slabinfo shows them (0 for SLUB).
    let limit: Int
    let batchcount: Int
    let shared: Int
    /// s->allocflags.
    let allocFlags: GFP
    /// s->object_size: what the caller asked for (kmem_cache_size); `size`
    /// is the slot with alignment, red zones and an outside free pointer.
    /// The same for kmalloc caches.
    var objectSize: Int
    /// s->red_left_pad: bytes of red zone before each object (SLAB_RED_ZONE).
    /// Slab addresses (`slabAddr`) already include it, so object i of a
    /// slab is at slabAddr + i * size for every cache.
    var redLeftPad = 0
    /// s->inuse: the object and right red zone, before the free pointer.
    var inuseBytes: Int
    /// The SLAB_* flags of kmem_cache_create (0 for kmalloc caches).
    var slabFlags: UInt32 = 0
    var align = 8
    /// The constructor, run on every object of a new slab.
    var ctor: ((UInt64) throws -> Void)?
    /// Made by kmem_cache_create (not a kmalloc cache).
    var created = false
    /// kmem_cache_destroy succeeded: the cache is gone.
    var destroyed = false
    /// A constructor of this cache is running (its slab is half built).
    var inConstructor = false

    var slabPfn = RawVec<UInt64>()
    var slabAddr = RawVec<UInt64>()
    var slabObjects = RawVec<Int32>()
    var slabOrder = RawVec<UInt8>()
    var slabInuse = RawVec<Int32>()
    var slabFree = RawVec<Int32>()
    /// 0 unused id, 1 cpu slab, 2 partial, 3 full.
    var slabState = RawVec<UInt8>()
    var freeIds: [Int32] = []
    var partial = SlabPartialList()
    /// CPU 0's slab (struct kmem_cache_cpu's `slab`); the other CPUs' are
    /// in `otherCpuSlabs` (index cpu - 1), used only with boot{cpus > 1}.
    var cpuSlab: Int32 = -1
    var otherCpuSlabs: [Int32] = []
    /// Per slab, SLUB's slab->freelist while the slab is some CPU's slab:
    /// objects freed on another CPU (__slab_free) wait here, and the owning
    /// CPU takes them over only when its own freelist (`slabFree`, the
    /// lockless c->freelist) runs out (___slab_alloc's get_freelist). So an
    /// object freed on CPU 1 is not the next one CPU 0 allocates. Always
    /// empty (-1) with one CPU, and on 2.6.18 (SLAB, not modelled per CPU).
    var remoteFree = RawVec<Int32>()

    var objNext = RawVec<Int32>()
    /// Requested size of an allocated object; -1 freed; -2 never allocated.
    var objReq = RawVec<Int32>()
    var objInfo = RawVec<AllocInfo>()

    var nrSlabs = 0
    var totalObjects = 0
    var inuse = 0
    var slabPages = 0

    /// `cpu`'s slab (-1: none yet).
    @inline(__always) func cpuSlab(of cpu: Int) -> Int32 {
        if cpu == 0 { return cpuSlab }
        return cpu - 1 < otherCpuSlabs.count ? otherCpuSlabs[cpu - 1] : -1
    }

    func setCpuSlab(_ cpu: Int, _ s: Int32) {
        if cpu == 0 { cpuSlab = s; return }
        while otherCpuSlabs.count < cpu { otherCpuSlabs.append(-1) }
        otherCpuSlabs[cpu - 1] = s
    }

    /// Whether slab `si`, a CPU slab, is another CPU's than `cpu`.
    @inline(__always) func freedOnAnotherCPU(_ si: Int, cpu: Int) -> Bool {
        // Only CPU 0 has allocated: a slab it owns, freed on CPU 0.
        if cpu == 0 && otherCpuSlabs.isEmpty { return false }
        return cpuSlab(of: cpu) != Int32(si)
    }

    /// Whether slab `si` is some CPU's slab.
    func isSomeCPUsSlab(_ si: Int) -> Bool {
        cpuSlab == Int32(si) || otherCpuSlabs.contains(Int32(si))
    }

    init(name: String, index: Int, type: KmallocType, size: Int, order: Int, minOrder: Int, objsPerSlab: Int,
         freePointerOffset: Int, mgmtSize: Int, colourCount: Int, colourOff: Int, minPartial: Int,
         limit: Int, batchcount: Int, shared: Int, allocFlags: GFP) {
        self.name = name
        self.index = index
        owner = Owner.slabBase + UInt32(index)
        self.type = type
        self.size = size
        sizeShift = size > 0 && size & (size - 1) == 0 ? size.trailingZeroBitCount : -1
        self.order = order
        self.minOrder = minOrder
        self.objsPerSlab = objsPerSlab
        self.freePointerOffset = freePointerOffset
        self.mgmtSize = mgmtSize
        self.colourCount = colourCount
        self.colourOff = colourOff
        self.minPartial = minPartial
        self.limit = limit
        self.batchcount = batchcount
        self.shared = shared
        self.allocFlags = allocFlags
        objectSize = size
        inuseBytes = size
    }

    /// The object at byte `offset` of a slab, and whether the offset is its
    /// start. (Offsets are below 4 MiB: 32-bit division where no shift does.)
    @inline(__always) func object(atOffset offset: Int) -> (index: Int, exact: Bool) {
        if sizeShift >= 0 { return (offset >> sizeShift, offset & (size - 1) == 0) }
        let (q, r) = UInt32(truncatingIfNeeded: offset).quotientAndRemainder(dividingBy: UInt32(truncatingIfNeeded: size))
        return (Int(q), r == 0)
    }

    /// Objects free in slabs on the partial list (what SLUB's slabinfo
    /// subtracts; free objects of the CPU slab count as active there).
    var freeInPartial: Int {
        var n = 0
        for s in partial { n += Int(slabObjects[Int(s)] - slabInuse[Int(s)]) }
        return n
    }
}

/// The kmalloc caches of the era: SLUB kmalloc-8 ... kmalloc-8k (with
/// kmalloc-96 and kmalloc-192) in four types, or SLAB size-32 ...
/// size-131072 and their (DMA) twins.
final class SlabAllocator {
    var caches: [KmemCache] = []
    /// lookup[type][i]: cache index for size class i of a kmalloc type.
    var lookup: [[Int]] = []
    /// The same, flattened: lookupFlat[type * sizes.count + i].
    var lookupFlat: [Int] = []
    let sizes: [Int]
    let v6: Bool
    /// The 6.x cache names by type and size index (spelled once per process:
    /// every boot makes all 52 caches).
    static let v6CacheNames: [[String]] = KmallocType.allCases.map { type in
        let prefix: String
        switch type {
        case .normal: prefix = "kmalloc-"
        case .reclaim: prefix = "kmalloc-rcl-"
        case .dma: prefix = "dma-kmalloc-"
        case .cgroup: prefix = "kmalloc-cg-"
        }
        return [0, 96, 192, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192].map { size in
            prefix + (size >= 1024 ? "\(size / 1024)k" : "\(size)")
        }
    }
    /// size_index[] of mm/slab_common.c for requests up to 192 bytes.
    static let sizeIndex: [Int] = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2]

    init(layout: KernelLayout, ramBytes: UInt64) {
        v6 = layout.era == .v6
        if v6 {
            // kmalloc index → size: 1 = 96, 2 = 192, i >= 3: 2^i.
            sizes = [0, 96, 192, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
            let ptr = layout.pointerSize
            for type in KmallocType.allCases {
                var row = [Int](repeating: -1, count: sizes.count)
                for i in [3, 4, 5, 6, 1, 7, 2, 8, 9, 10, 11, 12, 13] {
                    let size = sizes[i]
                    let order = SlabAllocator.slubOrder(size)
                    var flags: GFP = order > 0 ? [.comp] : []
                    if type == .dma { flags.insert(.dma) }
                    if type == .reclaim { flags.insert(.reclaimable) }
                    var ilog = 0
                    while (1 << (ilog + 1)) <= size { ilog += 1 }
                    let c = KmemCache(name: SlabAllocator.v6CacheNames[type.rawValue][i], index: caches.count, type: type, size: size,
                                      order: order, minOrder: 0, objsPerSlab: (4096 << order) / size,
                                      freePointerOffset: (size / 2) & ~(ptr - 1), mgmtSize: 0, colourCount: 0,
                                      colourOff: 0, minPartial: max(5, min(10, ilog / 2)), limit: 0, batchcount: 0,
                                      shared: 0, allocFlags: flags)
                    row[i] = caches.count
                    caches.append(c)
                }
                lookup.append(row)
            }
        } else {
            let l1 = layout.arch == .x86_32 ? 32 : 64
            var s: [Int] = [32, 64]
            if l1 < 64 { s.append(96) }
            s.append(128)
            if l1 < 128 { s.append(192) }
            s += [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
            sizes = s
            let slabDesc = layout.arch == .x86_32 ? 28 : 48
            let breakOrder = ramBytes > 32 << 20 ? 1 : 0
            var rowN = [Int](repeating: -1, count: s.count), rowD = rowN
            for (i, size) in s.enumerated() {
                for dma in [false, true] {
                    var align = l1
                    while size <= align / 2 { align /= 2 }
                    align = max(align, layout.pointerSize)
                    let offSlab = size >= 512
                    var order = 0, num = 0, mgmt = 0, left = 0
                    for o in 0...5 {
                        let slabSize = 4096 << o
                        var n = 0, m = 0
                        if offSlab {
                            n = slabSize / size
                        } else {
                            n = (slabSize - slabDesc) / (size + 4)
                            func mg(_ k: Int) -> Int { (slabDesc + k * 4 + align - 1) / align * align }
                            if mg(n) + n * size > slabSize { n -= 1 }
                            m = mg(n)
                        }
                        if n == 0 { continue }
                        order = o
                        num = n
                        mgmt = m
                        left = slabSize - n * size - m
                        if o >= breakOrder { break }
                        if left * 8 <= slabSize { break }
                    }
                    let limit = size > 131072 ? 1 : size > 4096 ? 8 : size > 1024 ? 24 : size > 256 ? 54 : 120
                    let c = KmemCache(name: "size-\(size)" + (dma ? "(DMA)" : ""), index: caches.count,
                                      type: dma ? .dma : .normal, size: size, order: order, minOrder: order,
                                      objsPerSlab: num, freePointerOffset: -1, mgmtSize: mgmt,
                                      colourCount: left / l1, colourOff: l1, minPartial: 5, limit: limit,
                                      batchcount: (limit + 1) / 2, shared: size <= 4096 ? 8 : 0,
                                      allocFlags: dma ? [.dma] : [])
                    if dma { rowD[i] = caches.count } else { rowN[i] = caches.count }
                    caches.append(c)
                }
            }
            lookup = [rowN, rowN, rowD, rowN]
        }
        lookupFlat = lookup.flatMap { $0 }
    }

    /// calculate_order() of mm/slub.c for one CPU (min_objects = 8),
    /// slub_max_order = PAGE_ALLOC_COSTLY_ORDER = 3.
    static func slubOrder(_ size: Int) -> Int {
        func getOrder(_ n: Int) -> Int {
            var o = 0
            while (4096 << o) < n { o += 1 }
            return o
        }
        var minObjects = 4 * (1 + 1)
        let maxObjects = max((4096 << 3) / size, 1)
        minObjects = min(minObjects, maxObjects)
        let minOrder = getOrder(minObjects * size)
        for fraction in [16, 8, 4, 2] {
            var order = minOrder
            while order <= 3 {
                let slabSize = 4096 << order
                if slabSize % size <= slabSize / fraction { return order }
                order += 1
            }
        }
        return getOrder(size)
    }

    /// The cache for a request of `size` (1 ... max cache size) and flags.
    @inline(__always) func cacheIndex(_ size: Int, _ gfp: GFP) -> Int {
        let type: Int
        if gfp.rawValue & (0x01 | 0x10 | 0x400000) == 0 {
            type = 0
        } else if gfp.contains(.dma) {
            type = KmallocType.dma.rawValue
        } else if gfp.contains(.reclaimable) {
            type = KmallocType.reclaim.rawValue
        } else {
            type = KmallocType.cgroup.rawValue
        }
        if v6 {
            let i: Int
            if size <= 192 {
                i = SlabAllocator.sizeIndex[(size - 1) / 8]
            } else {
                i = Int.bitWidth - (size - 1).leadingZeroBitCount
            }
            return lookupFlat[type * sizes.count + i]
        }
        for (i, s) in sizes.enumerated() where s >= size { return lookupFlat[type * sizes.count + i] }
        return -1
    }
}

extension Machine {
    // MARK: allocation bookkeeping

    @inline(__always) func newAllocInfo() -> AllocInfo {
        allocSequence &+= 1
        return AllocInfo(pid: Int32(truncatingIfNeeded: contexts.currentPid), commId: interned.comm(contexts.currentComm),
                         traceId: currentTraceId(),
                         time: clockNanoseconds, seq: allocSequence)
    }

    /// ZERO_SIZE_PTR: what kmalloc(0) returns in 6.x.
    public static let zeroSizePointer: UInt64 = 16

    // MARK: kmalloc & co.

    /// `kmalloc(size, flags)`: an object from the size class of the era, a
    /// compound page block above KMALLOC_MAX_CACHE_SIZE (6.x), nil when the
    /// memory cannot be found or the size is too large (with the kernel's
    /// warning unless __GFP_NOWARN). kmalloc(0) is ZERO_SIZE_PTR (16) in 6.x.
    public func kmalloc(_ size: Int, _ flags: GFP) throws -> UInt64? {
        try kmallocCore(size, flags, function: "kmalloc")
    }

    /// `kzalloc(size, flags)`: kmalloc with __GFP_ZERO.
    public func kzalloc(_ size: Int, _ flags: GFP) throws -> UInt64? {
        try kmallocCore(size, flags.union(.zero), function: "kzalloc")
    }

    /// `kmalloc_array(n, size, flags)`: nil if n * size overflows size_t.
    public func kmallocArray(_ n: Int, _ size: Int, _ flags: GFP) throws -> UInt64? {
        try kmallocArrayCore(n, size, flags, function: "kmalloc_array")
    }

    /// `kcalloc(n, size, flags)`: zeroed kmalloc_array.
    public func kcalloc(_ n: Int, _ size: Int, _ flags: GFP) throws -> UInt64? {
        try kmallocArrayCore(n, size, flags.union(.zero), function: "kcalloc")
    }

    func kmallocArrayCore(_ n: Int, _ size: Int, _ flags: GFP, function: String) throws -> UInt64? {
        guard n >= 0 else { throw KernelArgumentError(function, "n", "must be a non-negative integer, got \(n)") }
        guard size >= 0 else { throw KernelArgumentError(function, "size", "must be a non-negative integer, got \(size)") }
        let limit = layout.pointerSize == 4 ? UInt64(UInt32.max) : UInt64.max
        let (bytes, overflow) = UInt64(n).multipliedReportingOverflow(by: UInt64(size))
        if overflow || bytes > limit { return nil }
        return try kmallocBytes(bytes, flags, function: function)
    }

    func kmallocCore(_ size: Int, _ flags: GFP, function: String) throws -> UInt64? {
        guard size >= 0 else { throw KernelArgumentError(function, "size", "must be a non-negative integer, got \(size)") }
        return try kmallocBytes(UInt64(size), flags, function: function)
    }

    /// kmalloc of a size_t (callers have rejected negative values).
    func kmallocBytes(_ size: UInt64, _ flags: GFP, function: String) throws -> UInt64? {
        if flags.allowsBlocking && !contexts.canSleep {
            let site = KernelSite.allocMightSleep(config.era)
            mightSleep(file: site.0, line: site.1)
        }
        if kswapdPending { runKswapdIfPending() }
        stats.kmallocs &+= 1
        var req = size
        if req == 0 {
            if slab.v6 { return Machine.zeroSizePointer }
            req = 1
        }
        if req > layout.kmallocMaxCacheSize {
            if !slab.v6 { return nil }
            return try kmallocLarge(req, flags)
        }
        let ci = slab.cacheIndex(Int(req), flags)
        guard ci >= 0 else { return nil }
        let c = slab.caches[ci]
        if shouldFailslab(objectSize: c.size, failslabFlag: false, flags, caller: "__kmalloc") {
            stats.allocFailures += 1
            return nil
        }
        guard let p = try slabAlloc(c, Int(req), flags) else { return nil }
        if flags.contains(.zero) { try zeroVirtual(p, c.size) }
        return p
    }

    /// Zeroes kernel memory that is known to be mapped (fresh allocations).
    func zeroVirtual(_ p: UInt64, _ n: Int) throws {
        var done = 0
        while done < n {
            let pa = p &- layout.pageOffset &+ UInt64(done)
            let off = Int(pa & 4095)
            let len = min(4096 - off, n - done)
            try phys.fill(pa >> 12, off, 0, len)
            done += len
        }
        stats.bytesZeroed &+= UInt64(n)
        charge(Cost.zeroPerKiB * UInt64((n + 1023) / 1024))
    }

    /// The SLUB fast path and its refill.
    @inline(__always) func slabAlloc(_ c: KmemCache, _ req: Int, _ flags: GFP) throws -> UInt64? {
        // SLUB's CPU slabs are per CPU; 2.6.18's SLAB keeps one here.
        let cpu = slab.v6 ? contexts.cpu : 0
        var s = cpu == 0 ? c.cpuSlab : c.cpuSlab(of: cpu)
        if s < 0 || c.slabFree[Int(s)] < 0 {
            s = try refillCpuSlab(c, flags, cpu: cpu)
            if s < 0 { return nil }
        }
        let si = Int(s)
        let obj = Int(c.slabFree[si])
        let idx = si * c.objsPerSlab + obj
        c.slabFree[si] = c.objNext[idx]
        c.slabInuse[si] += 1
        c.inuse += 1
        c.objReq[idx] = Int32(req)
        c.objInfo[idx] = newAllocInfo()
        charge(Cost.slabFast)
        return c.slabAddr[si] &+ UInt64(obj * c.size)
    }

    /// The CPU's freelist is exhausted: take over what other CPUs freed into
    /// its slab meanwhile, else the most recent partial slab, or a new one.
    func refillCpuSlab(_ c: KmemCache, _ flags: GFP, cpu: Int = 0) throws -> Int32 {
        let current = cpu == 0 ? c.cpuSlab : c.cpuSlab(of: cpu)
        if current >= 0 {
            let old = Int(current)
            if c.remoteFree[old] >= 0 {
                // get_freelist(): the slab's freelist becomes the CPU's.
                c.slabFree[old] = c.remoteFree[old]
                c.remoteFree[old] = -1
                return current
            }
            c.slabState[old] = c.slabFree[old] < 0 ? 3 : 2
            if c.slabState[old] == 2 { c.partial.append(current) }
            c.setCpuSlab(cpu, -1)
        }
        if let s = c.partial.popLast() {
            c.slabState[Int(s)] = 1
            c.setCpuSlab(cpu, s)
            return s
        }
        let s = try newSlab(c, flags)
        if s >= 0 {
            c.slabState[Int(s)] = 1
            c.setCpuSlab(cpu, s)
        }
        return s
    }

    /// new_slab() → allocate_slab(): pages from the buddy allocator, the
    /// freelist threaded through the objects in address order.
    func newSlab(_ c: KmemCache, _ flagsIn: GFP) throws -> Int32 {
        var flags = flagsIn
        if flags.rawValue & GFP.slabBugMask != 0 {
            if slab.v6 {
                let invalid = GFP(rawValue: flags.rawValue & GFP.slabBugMask)
                flags = GFP(rawValue: flags.rawValue & ~GFP.slabBugMask)
                warnFixFlags(invalid, flags)
            } else {
                throw kernelBug(file: "mm/slab.c", line: 2582, function: "cache_grow")
            }
        }
        // Budget first: the freelist pointers written below need the pages stored.
        let pagesNeeded = 1 << c.order
        if c.freePointerOffset >= 0 && !phys.canStore(frames: pagesNeeded) {
            throw SimulatorLimitError.memoryLimitExceeded(limit: phys.limit)
        }
        flags = GFP(rawValue: flags.rawValue & (GFP.reclaimMask | GFP.constraintMask)).union(c.allocFlags)
        var order = c.order
        var gfp = GFP(rawValue: (flags.rawValue | GFP.nowarn.rawValue | GFP.noretry.rawValue) & ~GFP.nofail.rawValue)
        if gfp.allowsBlocking && c.order > c.minOrder {
            gfp = GFP(rawValue: (gfp.rawValue | GFP.nomemalloc.rawValue) & ~GFP.reclaim.rawValue)
        }
        var pfnOpt = allocPagesRaw(gfp, order)
        if pfnOpt == nil && c.order > c.minOrder {
            order = c.minOrder
            pfnOpt = allocPagesRaw(flags, order)
        } else if pfnOpt == nil {
            pfnOpt = allocPagesRaw(flags, order)
        }
        guard let pfn = pfnOpt else {
            try throwIfPanicked()
            slabOutOfMemory(c, flags)
            return -1
        }
        let id: Int32
        if let free = c.freeIds.popLast() {
            id = free
        } else {
            id = Int32(c.slabPfn.count)
            c.slabPfn.append(0)
            c.slabAddr.append(0)
            c.slabObjects.append(0)
            c.slabOrder.append(0)
            c.slabInuse.append(0)
            c.slabFree.append(-1)
            c.remoteFree.append(-1)
            c.slabState.append(0)
            let n = c.objsPerSlab
            c.objNext.append(-1, count: n)
            c.objReq.append(-2, count: n)
            c.objInfo.append(AllocInfo(), count: n)
        }
        let si = Int(id)
        buddy.markAllocated(pfn, order, owner: c.owner, flags: PG.slab, aux: UInt32(id))
        let nobj = order == c.order ? c.objsPerSlab : (4096 << order) / c.size
        var offset = c.mgmtSize + c.redLeftPad
        if c.colourCount > 0 {
            offset += c.colourNext * c.colourOff
            c.colourNext = (c.colourNext + 1) % c.colourCount
        }
        let base = layout.pageOffset &+ (pfn << 12) &+ UInt64(offset)
        c.slabPfn[si] = pfn
        c.slabAddr[si] = base
        c.slabObjects[si] = Int32(nobj)
        c.slabOrder[si] = UInt8(order)
        c.slabInuse[si] = 0
        c.slabFree[si] = 0
        c.remoteFree[si] = -1
        c.slabState[si] = 1
        let b = si * c.objsPerSlab
        for i in 0..<c.objsPerSlab {
            c.objNext[b + i] = i + 1 < nobj ? Int32(i + 1) : -1
            c.objReq[b + i] = -2
            c.objInfo[b + i] = AllocInfo()
        }
        if c.freePointerOffset >= 0 {
            for i in 0..<nobj {
                let next: UInt64 = i + 1 < nobj ? base &+ UInt64((i + 1) * c.size) : 0
                let at = base &+ UInt64(i * c.size + c.freePointerOffset) &- layout.pageOffset
                try phys.writeWord(at >> 12, Int(at & 4095), next, size: layout.pointerSize)
            }
        }
        c.nrSlabs += 1
        c.totalObjects += nobj
        c.slabPages += 1 << order
        stats.slabsCreated += 1
        charge(Cost.newSlab)
        if c.created { try setUpObjects(c, slab: si) }
        return id
    }

    /// kmalloc_fix_flags() (mm/slub.c): strips __GFP_HIGHMEM/__GFP_DMA32 and warns.
    func warnFixFlags(_ invalid: GFP, _ fixed: GFP) {
        var lines = ["Unexpected gfp: \(hex(UInt64(invalid.rawValue))) (\(invalid.description)). "
            + "Fixing up to gfp: \(hex(UInt64(fixed.rawValue))) (\(fixed.description)). Fix your code!"]
        // 6.12 names (__kmalloc_noprof since 6.10), symbol()'s offsets.
        lines += dumpStackLines(kernelFrames: ["kmalloc_fix_flags", "new_slab", "___slab_alloc",
                                                "__kmalloc_noprof"].map { symbol($0) })
        warn(kind: .unexpectedGfp, lines: lines,
             fields: ["invalid": hex(UInt64(invalid.rawValue)), "fixed": hex(UInt64(fixed.rawValue))])
    }

    /// slab_out_of_memory() (mm/slub.c), rate-limited with the allocation warnings.
    func slabOutOfMemory(_ c: KmemCache, _ gfp: GFP) {
        if gfp.contains(.nowarn) || !slab.v6 { return }
        let lines = ["SLUB: Unable to allocate memory on node -1, gfp=\(gfp.mode)",
                     "  cache: \(c.name), object size: \(c.size), buffer size: \(c.size), default order: \(c.order), min order: \(c.minOrder)",
                     "  node 0: slabs: \(c.nrSlabs), objs: \(c.totalObjects), free: \(c.totalObjects - c.inuse)"]
        warn(kind: .allocationFailure, lines: lines, cache: c.name, fields: ["gfp": gfp.mode])
    }

    /// __kmalloc_large_node(): a compound page block of get_order(size).
    func kmallocLarge(_ size: UInt64, _ flagsIn: GFP) throws -> UInt64? {
        var flags = flagsIn
        if flags.rawValue & GFP.slabBugMask != 0 {
            let invalid = GFP(rawValue: flags.rawValue & GFP.slabBugMask)
            flags = GFP(rawValue: flags.rawValue & ~GFP.slabBugMask)
            warnFixFlags(invalid, flags)
        }
        var order = 0
        while order < 64 && (UInt64(4096) << UInt64(order)) < size { order += 1 }
        flags.insert(.comp)
        guard let pfn = allocPagesInternal(flags, order: order, owner: Owner.kmallocLarge) else {
            try throwIfPanicked()
            return nil
        }
        var info = newAllocInfo()
        info.size = Int(size)
        largeKmallocs[pfn] = info
        return layout.pageOffset &+ (pfn << 12)
    }

    /// Requested size of a large kmalloc whose head frame is `pfn`.
    func largeSize(_ pfn: UInt64) -> Int {
        largeKmallocs[pfn]?.size ?? 0
    }

    // MARK: freeing

    /// `kfree(p)`. NULL and ZERO_SIZE_PTR are ignored; a pointer the slab
    /// allocator did not hand out, a second free, or a vmalloc address is
    /// reported as KASAN does (invalid-free / double-free) and not freed.
    public func kfree(_ p: UInt64) throws {
        stats.kfrees &+= 1
        if p <= Machine.zeroSizePointer { return }
        guard layout.isDirectMap(p) else {
            kasanInvalidFree(p, double: false, function: "kfree")
            return
        }
        let pfn = (p &- layout.pageOffset) >> 12
        var f = phys.frame(pfn)
        var head = pfn
        if f.kind == Frame.allocTail {
            head = UInt64(f.a)
            f = phys.frame(head)
        }
        if f.kind == Frame.allocHead && f.owner >= Owner.slabBase {
            let ci = Int(f.owner - Owner.slabBase)
            guard ci < slab.caches.count else { kasanInvalidFree(p, double: false, function: "kfree"); return }
            try slabFree(slab.caches[ci], Int(f.a), p)
            return
        }
        if f.kind == Frame.allocHead && f.owner == Owner.kmallocLarge {
            guard p == layout.pageOffset &+ (head << 12) else {
                kasanInvalidFree(p, double: false, function: "kfree")
                return
            }
            largeKmallocs[head] = nil
            freePagesInternal(head, order: Int(f.order))
            return
        }
        kasanInvalidFree(p, double: f.kind == Frame.freeHead || f.kind == Frame.freeTail, function: "kfree")
    }

    func slabFree(_ c: KmemCache, _ si: Int, _ p: UInt64, function: String = "kfree") throws {
        guard si < c.slabAddr.count, c.slabState[si] != 0, p >= c.slabAddr[si] else {
            kasanInvalidFree(p, double: false, function: function)
            return
        }
        let off = Int(p &- c.slabAddr[si])
        // (A slab spans at most 4 MiB: farther is outside it, and the 32-bit
        // division below must not see it.)
        let (obj, exact) = off < c.objsPerSlab * c.size ? c.object(atOffset: off) : (Int.max, false)
        guard exact, obj < Int(c.slabObjects[si]) else {
            kasanInvalidFree(p, double: false, function: function)
            return
        }
        let idx = si * c.objsPerSlab + obj
        if c.objReq[idx] < 0 {
            kasanInvalidFree(p, double: true, function: function)
            return
        }
        let state = c.slabState[si]
        // do_slab_free(): the fast path only for the slab of the CPU freeing;
        // another CPU's slab gets the object on its slab->freelist.
        let remote = state == 1 && slab.v6 && c.freedOnAnotherCPU(si, cpu: contexts.cpu)
        let oldHead = remote ? c.remoteFree[si] : c.slabFree[si]
        if c.freePointerOffset >= 0 {
            let next: UInt64 = oldHead >= 0 ? c.slabAddr[si] &+ UInt64(Int(oldHead) * c.size) : 0
            let at = p &+ UInt64(c.freePointerOffset) &- layout.pageOffset
            try phys.writeWord(at >> 12, Int(at & 4095), next, size: layout.pointerSize)
        }
        c.objNext[idx] = oldHead
        if remote { c.remoteFree[si] = Int32(obj) } else { c.slabFree[si] = Int32(obj) }
        c.slabInuse[si] -= 1
        c.inuse -= 1
        c.objReq[idx] = -1
        // A dedicated cache's debugging patterns (free_debug_processing),
        // before the slab may go back to the page allocator below.
        if c.created { try markFreed(c, p) }
        let ip = c.objInfo.ptr + idx
        ip.pointee.freePid = Int32(truncatingIfNeeded: contexts.currentPid)
        ip.pointee.freeTraceId = currentTraceId()
        charge(Cost.slabFast)
        if state == 1 { return }
        if c.slabInuse[si] == 0 && c.partial.count >= c.minPartial {
            if state == 2 { c.partial.remove(Int32(si)) }
            discardSlab(c, si)
            return
        }
        if state == 3 {
            c.slabState[si] = 2
            c.partial.append(Int32(si))
        }
    }

    /// discard_slab(): the slab's pages go back to the buddy allocator.
    func discardSlab(_ c: KmemCache, _ si: Int) {
        let order = Int(c.slabOrder[si])
        freePagesInternal(c.slabPfn[si], order: order)
        c.nrSlabs -= 1
        c.totalObjects -= Int(c.slabObjects[si])
        c.slabPages -= 1 << order
        c.slabState[si] = 0
        c.slabObjects[si] = 0
        c.slabFree[si] = -1
        c.remoteFree[si] = -1
        c.freeIds.append(Int32(si))
        stats.slabsFreed += 1
        charge(Cost.discardSlab)
    }

    // MARK: ksize, krealloc

    /// `ksize(p)`: the usable size of a kmalloc'ed object (its cache's
    /// object size; PAGE_SIZE << order for a large kmalloc). 0 for NULL,
    /// ZERO_SIZE_PTR, or (with a KASAN report) a freed object.
    public func ksize(_ p: UInt64) throws -> Int {
        if p <= Machine.zeroSizePointer { return 0 }
        guard let obj = kmallocObject(containing: p) else {
            if layout.isDirectMap(p) {
                warnOnce("ksize:\(p)", site: KernelSite.ksizeBad, function: "__ksize")
            } else {
                kasanReportAccess(p, size: 1, write: false, function: "ksize")
            }
            return 0
        }
        if !obj.allocated {
            kasanReportAccess(p, size: 1, write: false, function: "ksize")
            return 0
        }
        return obj.usable
    }

    /// `krealloc(p, new_size, flags)` (mm/slab_common.c): grows in place
    /// while the object is big enough, else allocates, copies ksize bytes
    /// and frees the old object. new_size 0 frees p and returns ZERO_SIZE_PTR.
    public func krealloc(_ p: UInt64, _ newSize: Int, _ flags: GFP) throws -> UInt64? {
        guard newSize >= 0 else {
            throw KernelArgumentError("krealloc", "new_size", "must be a non-negative integer, got \(newSize)")
        }
        if newSize == 0 && slab.v6 {
            try kfree(p)
            return Machine.zeroSizePointer
        }
        var ks = 0
        if p > Machine.zeroSizePointer {
            ks = try ksize(p)
            if ks == 0 { return nil }
        }
        if ks >= newSize && p > Machine.zeroSizePointer {
            if let o = kmallocObject(containing: p) {
                let old = o.requested
                if let c = o.cache {
                    c.objReq[o.index] = Int32(newSize)
                } else {
                    largeKmallocs[o.head]?.size = newSize
                }
                if flags.contains(.zero) && newSize > old { try zeroVirtual(p &+ UInt64(old), newSize - old) }
            }
            return p
        }
        guard let q = try kmallocCore(newSize, flags, function: "krealloc") else { return nil }
        if ks > 0 {
            try copyKernel(q, p, ks)
            try kfree(p)
        }
        return q
    }

    /// Copies bytes between kernel objects without KASAN (as krealloc does).
    func copyKernel(_ dst: UInt64, _ src: UInt64, _ n: Int) throws {
        var buf = [UInt8](repeating: 0, count: n)
        var done = 0
        while done < n {
            let pa = src &- layout.pageOffset &+ UInt64(done)
            let off = Int(pa & 4095)
            let len = min(4096 - off, n - done)
            buf.withUnsafeMutableBufferPointer { b in
                if let base = b.baseAddress { phys.read(pa >> 12, off, len, into: base + done) }
            }
            done += len
        }
        done = 0
        while done < n {
            let pa = dst &- layout.pageOffset &+ UInt64(done)
            let off = Int(pa & 4095)
            let len = min(4096 - off, n - done)
            try buf.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { try phys.write(pa >> 12, off, base + done, len) }
            }
            done += len
        }
        charge(UInt64(n / 16) * Cost.accessPer16)
    }

    /// What a direct-map address is inside of, for kmalloc memory.
    struct KmallocObject {
        var cache: KmemCache?
        var slabIndex: Int
        var index: Int
        var address: UInt64
        var allocated: Bool
        var requested: Int
        var usable: Int
        var head: UInt64
    }

    /// The slab object (or large kmalloc) containing `p`, if any.
    func kmallocObject(containing p: UInt64) -> KmallocObject? {
        guard layout.isDirectMap(p) else { return nil }
        let pfn = (p &- layout.pageOffset) >> 12
        var f = phys.frame(pfn)
        var head = pfn
        if f.kind == Frame.allocTail {
            head = UInt64(f.a)
            f = phys.frame(head)
        }
        guard f.kind == Frame.allocHead else { return nil }
        if f.owner == Owner.kmallocLarge {
            let size = largeSize(head)
            return KmallocObject(cache: nil, slabIndex: -1, index: -1, address: layout.pageOffset &+ (head << 12),
                                 allocated: true, requested: size, usable: 4096 << Int(f.order), head: head)
        }
        guard f.owner >= Owner.slabBase, Int(f.owner - Owner.slabBase) < slab.caches.count else { return nil }
        let c = slab.caches[Int(f.owner - Owner.slabBase)]
        let si = Int(f.a)
        guard si < c.slabAddr.count, p >= c.slabAddr[si] else { return nil }
        let obj = Int(p &- c.slabAddr[si]) / c.size
        guard obj < Int(c.slabObjects[si]) else { return nil }
        let idx = si * c.objsPerSlab + obj
        let req = Int(c.objReq[idx])
        return KmallocObject(cache: c, slabIndex: si, index: idx,
                             address: c.slabAddr[si] &+ UInt64(obj * c.size), allocated: req >= 0,
                             requested: max(req, 0), usable: c.objectSize, head: head)
    }
}
