import Testing
import KernelLua
import KernelSim
import LuaBridge

/// The slab cache API from Lua: values, fields, constructors, errors.
@Suite struct SlabCacheLuaTests {
    @Test func aCacheIsAValueWithFieldsAndPrints() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local c = kmem_cache_create("my_obj", 100, 0, SLAB_HWCACHE_ALIGN, nil)
            return tostring(c), c.name, c.size, c.slot_size, c.objects_per_slab, kmem_cache_size(c)
            """)
        #expect(v == [.string("kmem_cache{name=my_obj, size=100}"), .string("my_obj"), .integer(100), .integer(128),
                      .integer(32), .integer(100)])
    }

    @Test func flagsHaveTheKernelsValues() throws {
        let h = try KernelHarness()
        let v = h.values("return SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RED_ZONE, SLAB_PANIC")
        #expect(v == [.integer(0x2000), .integer(0x800), .integer(0x400), .integer(0x40000)])
    }

    @Test func theConstructorRunsPerSlabNotPerAllocation() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local calls = 0
            local c = kmem_cache_create("ctor_obj", 512, 0, 0, function(p) calls = calls + 1; poke(p, "INIT") end)
            local a = kmem_cache_alloc(c, GFP_KERNEL)
            local first = calls
            poke(a, "USED")
            kmem_cache_free(c, a)
            local b = kmem_cache_alloc(c, GFP_KERNEL)
            return first == c.objects_per_slab, calls == first, b == a, peek(b, 4), #reports()
            """)
        #expect(v == [.boolean(true), .boolean(true), .boolean(true), .string("USED"), .integer(0)])
    }

    @Test func aFailingConstructorIsAClearError() throws {
        let h = try KernelHarness()
        let msg = h.errorMessage("""
            local c = kmem_cache_create("bad_ctor", 64, 0, 0, function(p) error("no") end)
            kmem_cache_alloc(c, GFP_KERNEL)
            """)
        #expect(msg?.contains("bad_ctor's constructor failed") == true)
        #expect(h.errorMessage("""
            local c
            c = kmem_cache_create("self_ctor", 64, 0, 0, function(p) kmem_cache_alloc(c, GFP_ATOMIC) end)
            kmem_cache_alloc(c, GFP_KERNEL)
            """)?.contains("constructor cannot allocate") == true)
    }

    @Test func misuseIsAClearError() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("kmem_cache_alloc(42, GFP_KERNEL)")?.contains("kmem_cache_alloc: cache") == true)
        #expect(h.errorMessage("kmem_cache_create(1, 64, 0, 0)")?.contains("name") == true)
        #expect(h.errorMessage("kmem_cache_create('x', -1, 0, 0)")?.contains("size") == true)
        #expect(h.errorMessage("kmem_cache_create('x', 64, 0, 0, 5)")?.contains("ctor") == true)
        #expect(h.errorMessage("""
            local c = kmem_cache_create("gone", 64, 0, 0, nil)
            kmem_cache_destroy(c)
            kmem_cache_alloc(c, GFP_KERNEL)
            """)?.contains("destroyed") == true)
        #expect(h.errorMessage("""
            local c = kmem_cache_create("old", 64, 0, 0, nil)
            boot{}
            kmem_cache_alloc(c, GFP_KERNEL)
            """)?.contains("boot{}") == true)
        #expect(h.values("return kmem_cache_create('nothing', 0, 0, 0, nil)") == [.nil])
    }

    @Test func destroyWithObjectsIsAWarningAndLeaksAreReported() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local c = kmem_cache_create("leaky", 64, 0, 0, nil)
            local p = kmem_cache_alloc(c, GFP_KERNEL)
            kmem_cache_destroy(c)
            local r = reports()
            return r[#r].headline:match("^kmem_cache_destroy leaky: Slab cache still has objects") ~= nil
            """)
        #expect(v == [.boolean(true)])
    }
}
