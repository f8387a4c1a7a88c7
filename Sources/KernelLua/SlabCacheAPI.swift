import KernelSim
import LuaBridge

/// Dedicated slab caches: glue to KernelSim/Memory/SlabCache.swift. A cache
/// is a handle (`kmem_cache{name=..., size=...}`) with the fields name,
/// size (the object size), object_size, slot_size, align, objects_per_slab
/// and order; it belongs to the machine it was made on.
enum SlabCacheAPI {
    static let meta = "kmlab.kmem_cache"
    static let topic = "Slab caches and mempools"
    static let expected = "a cache (from kmem_cache_create)"

    /// The cache handle at argument `i`, checked against the current machine.
    static func cache(_ call: LuaCall, _ i: Int32, glue: ContextGlue, _ name: String = "cache") throws -> CacheHandle {
        guard let h = HandleValue.read(call, i, metatable: meta) else { throw call.argumentError(i, name, expected) }
        guard h.generation == glue.generation else {
            throw call.error("\(name) belongs to a machine that boot{} has replaced; make a new one")
        }
        guard let index = Int(exactly: h.id) else { throw call.argumentError(i, name, expected) }
        return CacheHandle(index: index)
    }

    static func push(_ c: CacheHandle, glue: ContextGlue, on call: LuaCall) {
        HandleValue.push(HandleValue(id: Int64(c.index), generation: glue.generation), metatable: meta, on: call)
    }

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        glue.makeHandleMetatable(meta, typeName: "struct kmem_cache", tostring: { _, h in
            guard h.generation == glue.generation, let i = Int(exactly: h.id),
                  let info = glue.machine.cacheInfo(CacheHandle(index: i)) else {
                return "kmem_cache{stale: from before boot{}}"
            }
            return "kmem_cache{name=\(info.name), size=\(info.objectSize)\(info.destroyed ? ", destroyed" : "")}"
        }, index: { call in
            guard call.kind(2) == .string, let key = try? call.string(2, "field"),
                  let h = HandleValue.read(call, 1, metatable: meta), h.generation == glue.generation,
                  let i = Int(exactly: h.id), let info = glue.machine.cacheInfo(CacheHandle(index: i)) else {
                call.pushNil()
                return 1
            }
            switch key {
            case "name": call.push(info.name)
            case "size", "object_size": call.push(info.objectSize)
            case "slot_size": call.push(info.size)
            case "align": call.push(info.align)
            case "objects_per_slab": call.push(info.objectsPerSlab)
            case "order": call.push(info.order)
            case "destroyed": call.push(info.destroyed)
            default: call.pushNil()
            }
            return 1
        })
        for (name, value) in SlabFlags.exported {
            env.constant(name, Int64(value), doc: APIDoc(topic: topic,
                signature: "\(name) = 0x\(String(value, radix: 16))", summary: flagSummary(name),
                kernel: "include/linux/slab.h"))
        }
        let sleeps = "process context only: it takes slab_mutex and may sleep (from atomic context the debug kernel reports it; from interrupt context it fails)"
        env.define("kmem_cache_create", doc: APIDoc(topic: topic,
            signature: "kmem_cache_create(name, size, align, flags, ctor) -> cache | nil",
            summary: "Creates a dedicated slab cache of objects of size bytes. The slot size follows SLUB: the alignment is at least 8 (SLAB_HWCACHE_ALIGN rounds up to the 64-byte cache line, or half of it while the object fits in half), SLAB_RED_ZONE adds red zones around each object, SLAB_POISON fills free objects with 0x6b ending in 0xa5, and a constructor, SLAB_POISON or a red zone puts the free pointer after the object. The slab order and objects per slab are SLUB's. ctor is a Lua function called with each object's address when a new slab is populated — once per object, not at every allocation, so objects must be given back in their constructed state. The cache gets its own /proc/slabinfo line: kmlab never merges caches (as with slab_nomerge). Fields: name, size (object size), slot_size, align, objects_per_slab, order.",
            context: sleeps,
            failure: "nil, with `kmem_cache_create(NAME) failed with error -22` and a stack (size 0 or above KMALLOC_MAX_SIZE, unknown flags, interrupt context); with SLAB_PANIC a kernel panic instead",
            kernel: "mm/slab_common.c kmem_cache_create(), mm/slub.c calculate_sizes()")) { call in
            let name = try call.string(1, "name")
            let size = try call.size(2)
            let align = try call.size(3, "align")
            let flagsValue = try call.integer(4, "flags", expected: "SLAB_* flags (an integer, 0 for none)")
            guard let flags = UInt32(exactly: flagsValue) else {
                throw call.argumentError(4, "flags", "SLAB_* flags (an integer, 0 for none)")
            }
            var ctor: ((UInt64) throws -> Void)?
            if !call.isNil(5) {
                try call.checkFunction(5, "ctor")
                let ref = glue.keep(call, 5)
                let gen = glue.generation
                let what = "\(name)'s constructor"
                ctor = { [weak glue] address in
                    guard let glue else { return }
                    _ = try glue.invoke(ref, madeIn: gen, what: what, arguments: [.integer(Int64(bitPattern: address))], results: 0)
                }
            }
            if let c = try env.machine.kmemCacheCreate(name: name, size: size, align: align, flags: flags, ctor: ctor) {
                push(c, glue: glue, on: call)
            } else {
                call.pushNil()
            }
            return 1
        }
        let allocContext = "process context with GFP_KERNEL; any context with GFP_ATOMIC (as kmalloc)"
        env.define("kmem_cache_alloc", doc: APIDoc(topic: topic, signature: "kmem_cache_alloc(cache, flags) -> address | nil",
            summary: "Allocates one object from the cache: from the CPU slab's freelist (LIFO), else a partial slab, else a new slab (whose objects are constructed then). The object is not re-constructed: it holds what its constructor left, or what its last user left.",
            context: allocContext, failure: "nil (flags without __GFP_NOWARN print SLUB's allocation failure report); an error for a destroyed cache",
            kernel: "mm/slub.c kmem_cache_alloc()")) { call in
            let c = try cache(call, 1, glue: glue)
            call.push(address: try env.machine.kmemCacheAlloc(c, try call.gfp(2, era: env.machine.config.era)))
            return 1
        }
        env.define("kmem_cache_zalloc", doc: APIDoc(topic: topic, signature: "kmem_cache_zalloc(cache, flags) -> address | nil",
            summary: "kmem_cache_alloc with __GFP_ZERO: the object is zeroed (which also wipes what a constructor set up).",
            context: allocContext, failure: "nil, as kmem_cache_alloc", kernel: "include/linux/slab.h kmem_cache_zalloc()")) { call in
            let c = try cache(call, 1, glue: glue)
            call.push(address: try env.machine.kmemCacheAlloc(c, try call.gfp(2, era: env.machine.config.era).union(.zero), function: "kmem_cache_zalloc"))
            return 1
        }
        env.define("kmem_cache_free", doc: APIDoc(topic: topic, signature: "kmem_cache_free(cache, p)",
            summary: "Returns an object to its cache. kmem_cache_free(cache, nil) does nothing. An object that belongs to another cache gets the kernel's `cache_from_obj: Wrong slab cache. A but object is from B` warning and goes back to the cache it came from; a double free or a pointer that is no object gets KASAN's report.",
            failure: "a report (see above); an error for a destroyed cache", kernel: "mm/slub.c kmem_cache_free(), cache_from_obj()")) { call in
            let c = try cache(call, 1, glue: glue)
            let p = try call.optionalAddress(2, "p") ?? 0
            try env.machine.kmemCacheFree(c, p)
            return 0
        }
        env.define("kmem_cache_destroy", doc: APIDoc(topic: topic, signature: "kmem_cache_destroy(cache)",
            summary: "Destroys an empty cache: its slabs go back to the page allocator and its /proc/slabinfo line disappears; using the cache afterwards is an error. With objects still allocated the kernel keeps the cache and warns `kmem_cache_destroy NAME: Slab cache still has objects when called from CALLER` with a stack: every object must be freed first.",
            context: sleeps, failure: "the warning above", kernel: "mm/slab_common.c kmem_cache_destroy()")) { call in
            if call.isNil(1) { return 0 }
            try env.machine.kmemCacheDestroy(try cache(call, 1, glue: glue))
            return 0
        }
        env.define("kmem_cache_size", doc: APIDoc(topic: topic, signature: "kmem_cache_size(cache) -> integer",
            summary: "The object size the cache was created with (s->object_size): what a caller may use of each object. The slot each object occupies (slot_size) can be larger.",
            failure: "an error for a destroyed cache", kernel: "mm/slab_common.c kmem_cache_size()")) { call in
            call.push(try env.machine.kmemCacheSize(try cache(call, 1, glue: glue)))
            return 1
        }
    }

    static func flagSummary(_ name: String) -> String {
        switch name {
        case "SLAB_HWCACHE_ALIGN": return "Align objects on the 64-byte cache line (or half of it, while the object fits in half): no two objects share a line, at the price of padding."
        case "SLAB_POISON": return "Debugging: fill free objects with 0x6b ending in 0xa5 (POISON_FREE, POISON_END), so stale reads stand out. Ignored for poisoning when the cache has a constructor."
        case "SLAB_RED_ZONE": return "Debugging: red zones before and after each object (0xbb free, 0xcc allocated) to catch overruns."
        case "SLAB_PANIC": return "Panic if kmem_cache_create fails, for caches the system cannot run without."
        case "SLAB_CACHE_DMA": return "Allocate the cache's slabs from ZONE_DMA."
        case "SLAB_ACCOUNT": return "Charge the objects to the allocating task's memory cgroup."
        case "SLAB_FAILSLAB": return "With failslab's cache-filter on, only caches with this flag get injected failures."
        default: return "A kmem_cache_create flag."
        }
    }
}
