import Testing
import KernelLua
import KernelSim
import LuaBridge

/// Mempools from Lua: the helpers, custom functions, fields, misuse.
@Suite struct MempoolLuaTests {
    @Test func kmallocPoolServesFromTheReserveUnderFaultInjection() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{failslab = "1,100,0,-1"}
            local pool = mempool_create_kmalloc_pool(2, 256)
            local a = mempool_alloc(pool, GFP_ATOMIC)
            local b = mempool_alloc(pool, GFP_ATOMIC)
            local c = mempool_alloc(pool, GFP_ATOMIC)
            local n = pool.curr_nr
            mempool_free(a, pool); mempool_free(b, pool)
            return a ~= nil, b ~= nil, c, n, pool.curr_nr, pool.min_nr, tostring(pool)
            """)
        #expect(v == [.boolean(true), .boolean(true), .nil, .integer(0), .integer(2), .integer(2),
                      .string("mempool{min_nr=2, curr_nr=2}")])
    }

    @Test func customFunctionsGetFlagsAndData() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local seen = {}
            local pool = mempool_create(1, function(gfp, data)
                seen[#seen + 1] = gfp
                return kmalloc(data.size, gfp)
              end, function(p, data) kfree(p) end, {size = 48})
            local e = mempool_alloc(pool, GFP_KERNEL)
            mempool_free(e, pool)
            mempool_destroy(pool)
            return #seen, seen[1], seen[2]
            """)
        // Prefill with GFP_KERNEL; then GFP_KERNEL | NOMEMALLOC | NORETRY | NOWARN without DIRECT_RECLAIM and IO.
        #expect(v == [.integer(2), .integer(0xcc0), .integer(0x92880)])
    }

    @Test func pagePoolsReturnPages() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local pool = mempool_create_page_pool(1, 0)
            local pg = mempool_alloc(pool, GFP_KERNEL)
            local s = tostring(pg):match("^page{") ~= nil
            mempool_free(pg, pool)
            mempool_destroy(pool)
            return s
            """)
        #expect(v == [.boolean(true)])
    }

    @Test func slabPoolsUseTheCache() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local c = kmem_cache_create("rx_desc", 192, 0, SLAB_HWCACHE_ALIGN, nil)
            local pool = mempool_create_slab_pool(8, c)
            local p = mempool_alloc(pool, GFP_ATOMIC)
            mempool_free(p, pool)
            mempool_destroy(pool)
            kmem_cache_destroy(c)
            return #reports()
            """)
        #expect(v == [.integer(0)])
    }

    @Test func misuseIsAClearError() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("mempool_alloc(1, GFP_KERNEL)")?.contains("mempool_alloc: pool") == true)
        #expect(h.errorMessage("mempool_create_kmalloc_pool(-1, 32)")?.contains("min_nr") == true)
        #expect(h.errorMessage("mempool_create(1, 2, 3)")?.contains("alloc_fn") == true)
        #expect(h.errorMessage("""
            local p = mempool_create_kmalloc_pool(1, 32)
            mempool_resize(p, 0)
            """)?.contains("new_min_nr") == true)
        #expect(h.errorMessage("""
            local p = mempool_create_kmalloc_pool(1, 32)
            mempool_destroy(p)
            mempool_alloc(p, GFP_KERNEL)
            """)?.contains("destroyed") == true)
        #expect(h.errorMessage("""
            local p = mempool_create(1, function() return "x" end, function() end, nil)
            """)?.contains("alloc_fn") == true)
    }
}
