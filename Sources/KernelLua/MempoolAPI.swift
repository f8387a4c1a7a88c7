import KernelSim
import LuaBridge

/// Memory pools: glue to KernelSim/Memory/Mempool.swift. A pool is a handle
/// (`mempool{min_nr=..., curr_nr=...}`) with the fields min_nr and curr_nr.
enum MempoolAPI {
    static let meta = "kmlab.mempool"
    static let topic = SlabCacheAPI.topic
    static let expected = "a pool (from mempool_create)"

    /// The pools of the current machine (a handle's id indexes it).
    final class Pools {
        var pools: [Mempool] = []
    }

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        let store = Pools()
        env.onMachineReplaced { [weak store] _ in store?.pools.removeAll() }

        func pool(_ call: LuaCall, _ i: Int32) throws -> Mempool {
            try glue.object(call, i, "pool", metatable: meta, expected: expected, in: store.pools)
        }
        func push(_ p: Mempool?, _ call: LuaCall) {
            guard let p else { call.pushNil(); return }
            store.pools.append(p)
            HandleValue.push(HandleValue(id: Int64(store.pools.count - 1), generation: glue.generation), metatable: meta, on: call)
        }
        /// An element as Lua sees it: an address, or a page value.
        func pushElement(_ e: MempoolElement?, _ call: LuaCall) {
            switch e {
            case .none: call.pushNil()
            case .address(let p)?: call.push(address: p)
            case .page(let pfn)?: PageValue.push(Page(pfn: pfn), on: call)
            }
        }
        func element(_ call: LuaCall, _ i: Int32, _ name: String) throws -> MempoolElement? {
            if call.isNil(i) { return nil }
            if let pfn = PageValue.pfn(in: call, at: i) { return .page(pfn: pfn) }
            return .address(try call.address(i, name))
        }

        glue.makeHandleMetatable(meta, typeName: "mempool_t", tostring: { _, h in
            guard h.generation == glue.generation, h.id >= 0, h.id < Int64(store.pools.count) else {
                return "mempool{stale: from before boot{}}"
            }
            let p = store.pools[Int(h.id)]
            return "mempool{min_nr=\(p.minNr), curr_nr=\(p.currNr)\(p.destroyed ? ", destroyed" : "")}"
        }, index: { call in
            guard call.kind(2) == .string, let key = try? call.string(2, "field"), let p = try? pool(call, 1) else {
                call.pushNil()
                return 1
            }
            switch key {
            case "min_nr": call.push(p.minNr)
            case "curr_nr": call.push(p.currNr)
            case "destroyed": call.push(p.destroyed)
            case "reserve_hits": call.push(p.reserveHits)
            default: call.pushNil()
            }
            return 1
        })

        let create = "process context only: it allocates min_nr elements with GFP_KERNEL"
        let kernelCreate = "mm/mempool.c mempool_create_node()"
        env.define("mempool_create", doc: APIDoc(topic: topic,
            signature: "mempool_create(min_nr, alloc_fn, free_fn, data) -> pool | nil",
            summary: "Creates a pool that keeps min_nr elements in reserve. alloc_fn(gfp_mask, data) returns a new element (an address or a page, nil on failure) and free_fn(element, data) frees one; both are Lua functions. The reserve is filled at once with GFP_KERNEL. Fields: min_nr, curr_nr (elements in reserve now).",
            context: create, failure: "nil when the reserve cannot be filled (what was allocated is freed)", kernel: kernelCreate)) { call in
            let minNr = try call.count(1, "min_nr")
            try call.checkFunction(2, "alloc_fn")
            try call.checkFunction(3, "free_fn")
            let allocRef = glue.keep(call, 2), freeRef = glue.keep(call, 3)
            call.setArgumentCount(4)
            let dataRef = glue.keep(call, 4)
            let gen = glue.generation
            let alloc: (GFP) throws -> MempoolElement? = { [weak glue] gfp in
                guard let glue else { return nil }
                let r = try glue.invoke(allocRef, madeIn: gen, what: "mempool alloc_fn",
                                        arguments: [.integer(Int64(gfp.rawValue)), .reference(dataRef)], results: 1)
                switch r.first {
                case .integer(let v)?: return .address(UInt64(bitPattern: v))
                case .nil?, nil, .boolean(false)?: return nil
                default:
                    throw ContextError("mempool alloc_fn must return an address (an integer) or nil")
                }
            }
            let free: (MempoolElement) throws -> Void = { [weak glue] e in
                guard let glue else { return }
                guard case .address(let p) = e else {
                    throw ContextError("mempool free_fn: this pool's elements are addresses, not pages")
                }
                _ = try glue.invoke(freeRef, madeIn: gen, what: "mempool free_fn",
                                    arguments: [.integer(Int64(bitPattern: p)), .reference(dataRef)], results: 0)
            }
            push(try env.machine.mempoolCreate(minNr: minNr, kind: .custom(alloc: alloc, free: free)), call)
            return 1
        }
        env.define("mempool_create_kmalloc_pool", doc: APIDoc(topic: topic,
            signature: "mempool_create_kmalloc_pool(min_nr, size) -> pool | nil",
            summary: "A pool of kmalloc(size) elements, freed with kfree.",
            context: create, failure: "nil", kernel: "include/linux/mempool.h mempool_create_kmalloc_pool()")) { call in
            let minNr = try call.count(1, "min_nr")
            let size = try call.size(2)
            push(try env.machine.mempoolCreate(minNr: minNr, kind: .kmalloc(size: size), function: "mempool_create_kmalloc_pool"), call)
            return 1
        }
        env.define("mempool_create_slab_pool", doc: APIDoc(topic: topic,
            signature: "mempool_create_slab_pool(min_nr, cache) -> pool | nil",
            summary: "A pool of objects from a slab cache (kmem_cache_alloc / kmem_cache_free): the classic way to guarantee a driver's receive or I/O path can always get one object.",
            context: create, failure: "nil", kernel: "include/linux/mempool.h mempool_create_slab_pool()")) { call in
            let minNr = try call.count(1, "min_nr")
            let cache = try SlabCacheAPI.cache(call, 2, glue: glue)
            push(try env.machine.mempoolCreate(minNr: minNr, kind: .slab(cache), function: "mempool_create_slab_pool"), call)
            return 1
        }
        env.define("mempool_create_page_pool", doc: APIDoc(topic: topic,
            signature: "mempool_create_page_pool(min_nr, order) -> pool | nil",
            summary: "A pool of 2^order-page blocks (alloc_pages / __free_pages); mempool_alloc returns a page.",
            context: create, failure: "nil", kernel: "include/linux/mempool.h mempool_create_page_pool()")) { call in
            let minNr = try call.count(1, "min_nr")
            let order = try call.order(2)
            push(try env.machine.mempoolCreate(minNr: minNr, kind: .pages(order: order), function: "mempool_create_page_pool"), call)
            return 1
        }
        env.define("mempool_alloc", doc: APIDoc(topic: topic, signature: "mempool_alloc(pool, flags) -> element | nil",
            summary: "Allocates an element: first from the underlying allocator, with __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN added and (first round) without direct reclaim or I/O; only when that fails from the reserve. With the reserve empty, flags without __GFP_DIRECT_RECLAIM (GFP_ATOMIC, GFP_NOWAIT) return nil; sleeping flags retry with the full flags and then wait for mempool_free to return an element: deferred work and interrupts run while the task sleeps; when nothing left could ever free one, kmlab reports that the task would wait for ever and ends it.",
            context: "any context with GFP_ATOMIC; process context with GFP_KERNEL (it may sleep)",
            failure: "nil for a non-sleeping caller with the reserve empty; never for a sleeping caller (it waits)",
            kernel: "mm/mempool.c mempool_alloc()")) { call in
            let p = try pool(call, 1)
            pushElement(try env.machine.mempoolAlloc(p, try call.gfp(2, era: env.machine.config.era)), call)
            return 1
        }
        env.define("mempool_free", doc: APIDoc(topic: topic, signature: "mempool_free(element, pool)",
            summary: "Returns an element: into the reserve while it holds fewer than min_nr (waking a waiter), else to the underlying allocator. mempool_free(nil, pool) does nothing. Note the argument order: element first, as in the kernel.",
            failure: "an error for a destroyed pool", kernel: "mm/mempool.c mempool_free()")) { call in
            let e = try element(call, 1, "element")
            let p = try pool(call, 2)
            try env.machine.mempoolFree(e, p)
            return 0
        }
        env.define("mempool_resize", doc: APIDoc(topic: topic, signature: "mempool_resize(pool, new_min_nr) -> 0",
            summary: "Changes min_nr: shrinking frees reserve elements beyond it, growing allocates up to it with GFP_KERNEL (stopping quietly at the first failure).",
            context: "process context only", failure: "an error for new_min_nr <= 0 (the kernel BUG()s)",
            kernel: "mm/mempool.c mempool_resize()")) { call in
            let p = try pool(call, 1)
            let n = try call.integer(2, "new_min_nr")
            call.push(try env.machine.mempoolResize(p, Int(clamping: n)))
            return 1
        }
        env.define("mempool_destroy", doc: APIDoc(topic: topic, signature: "mempool_destroy(pool)",
            summary: "Frees the reserve and the pool. Elements still held by callers must be freed by them first (to the allocator: the pool is gone). mempool_destroy(nil) does nothing.",
            context: "process context", failure: "an error for a pool already destroyed", kernel: "mm/mempool.c mempool_destroy()")) { call in
            if call.isNil(1) { return 0 }
            try env.machine.mempoolDestroy(try pool(call, 1))
            return 0
        }
    }
}
