import Testing
import KernelSim
import LuaBridge

/// The memory API through Lua, with the kernel's numbers (kernel-facts.md,
/// include/linux/gfp_types.h, include/linux/slab.h, arch/x86/mm/physaddr.c).
@Suite struct MemoryAPITests {
    @Test func constantsHaveTheKernelsValues() throws {
        let h = try KernelHarness()
        h.check("""
            assert(PAGE_SIZE == 4096 and PAGE_SHIFT == 12)
            assert(PAGE_OFFSET == 0xC0000000, string.format("%x", PAGE_OFFSET))
            assert(KMALLOC_MAX_SIZE == 4194304 and KMALLOC_MAX_CACHE_SIZE == 8192)
            assert(MAX_PAGE_ORDER == 10 and MAX_ORDER == nil)
            assert(GFP_KERNEL == 0xcc0 and GFP_ATOMIC == 0x820 and GFP_NOWAIT == 0x800)
            assert(GFP_NOIO == 0xc00 and GFP_NOFS == 0xc40 and GFP_USER == 0x100cc0)
            assert(GFP_HIGHUSER == 0x100cc2 and GFP_HIGHUSER_MOVABLE == 0x100cca)
            assert(GFP_DMA == 0x01 and GFP_DMA32 == 0x04 and __GFP_HIGHMEM == 0x02)
            assert(__GFP_ZERO == 0x100 and __GFP_NOWARN == 0x2000 and __GFP_NOFAIL == 0x8000)
            assert(__GFP_NORETRY == 0x10000 and __GFP_RETRY_MAYFAIL == 0x4000 and __GFP_DIRECT_RECLAIM == 0x400)
            assert(__GFP_HIGH == 0x20 and __GFP_KSWAPD_RECLAIM == 0x800 and GFP_KERNEL_ACCOUNT == 0x400cc0)
            assert(VMALLOC_START == 0xF77FE000 and VMALLOC_END == 0xFEFFE000)
            boot{arch="x86_64", ram="4G"}
            assert(PAGE_OFFSET == 0xffff888000000000)
            assert(string.format("%x", VMALLOC_START) == "ffffc90000000000")
            assert(string.format("%x", VMALLOC_END) == "ffffe8ffffffffff")
            boot{era="2.6"}
            assert(MAX_ORDER == 11 and MAX_PAGE_ORDER == nil, "2.6 names MAX_ORDER")
            assert(KMALLOC_MAX_SIZE == 131072)
            """)
    }

    /// include/linux/gfp.h of 2.6.18: __GFP_WAIT instead of the reclaim bits,
    /// and other numbers for the same names.
    @Test func era26HasTheGfpValuesOf2618() throws {
        let h = try KernelHarness()
        h.check("""
            boot{era="2.6"}
            assert(GFP_KERNEL == 0xd0 and GFP_ATOMIC == 0x20 and GFP_NOIO == 0x10 and GFP_NOFS == 0x50)
            assert(GFP_USER == 0x200d0 and GFP_HIGHUSER == 0x200d2 and GFP_NOWAIT == 0)
            assert(__GFP_WAIT == 0x10 and __GFP_NOWARN == 0x200 and __GFP_ZERO == 0x8000 and __GFP_NOFAIL == 0x800)
            assert(__GFP_REPEAT == 0x400 and __GFP_NORETRY == 0x1000 and __GFP_COMP == 0x4000)
            assert(__GFP_DIRECT_RECLAIM == nil and GFP_HIGHUSER_MOVABLE == nil and __GFP_RETRY_MAYFAIL == nil)
            local p = kmalloc(64, GFP_KERNEL | __GFP_ZERO)
            assert(peek(p, 64) == string.rep("\0", 64), "__GFP_ZERO is 0x8000 in 2.6")
            -- GFP_KERNEL may sleep: under a spinlock it is reported
            local l = spin_lock_init()
            spin_lock(l)
            local q = kmalloc(64, GFP_ATOMIC)
            assert(q ~= nil)
            spin_unlock(l)
            boot{}
            assert(GFP_KERNEL == 0xcc0 and __GFP_DIRECT_RECLAIM == 0x400 and __GFP_WAIT == nil)
            """)
        #expect(h.reports.isEmpty)
    }

    @Test func era26FailureLinePrintsThe2618Mask() throws {
        let h = try KernelHarness()
        h.run("""
            boot{era="2.6"}
            while alloc_pages(GFP_ATOMIC, 10) do end
            """)
        let r = try #require(h.reports.first { $0.kind == .allocationFailure })
        // 2.6.18 __alloc_pages(): "%s: page allocation failure. order:%d, mode:0x%x"
        #expect(r.lines[0] == "insmod: page allocation failure. order:10, mode:0x20")
    }

    @Test func kmallocFramesAreContiguousVmallocFramesAreNot() throws {
        let h = try KernelHarness()
        h.check("""
            boot{seed=5, fragmented=true}
            local n = 64
            local p = kmalloc(n * PAGE_SIZE, GFP_KERNEL)
            local first = page_to_pfn(virt_to_page(p))
            for i = 1, n - 1 do
              assert(page_to_pfn(virt_to_page(p + i * PAGE_SIZE)) == first + i, "kmalloc page " .. i)
            end
            assert(__pa(p + 5 * PAGE_SIZE) == __pa(p) + 5 * PAGE_SIZE)
            local v = vmalloc(n * PAGE_SIZE)
            local breaks = 0
            for i = 1, n - 1 do
              local a, b = vmalloc_to_pfn(v + (i - 1) * PAGE_SIZE), vmalloc_to_pfn(v + i * PAGE_SIZE)
              assert(a ~= 0 and b ~= 0)
              if b ~= a + 1 then breaks = breaks + 1 end
              assert(PageHighMem(vmalloc_to_page(v + i * PAGE_SIZE)), "vmalloc takes highmem first")
            end
            assert(breaks > n / 2, "vmalloc frames scattered: " .. breaks)
            assert(is_vmalloc_addr(v) and not is_vmalloc_addr(p))
            assert(virt_addr_valid(p) and not virt_addr_valid(v))
            """)
    }

    @Test func paOfAVmallocAddressIsTheDebugVirtualBug() throws {
        let h = try KernelHarness()
        h.check("""
            local v = vmalloc(8192)
            local ok, e = pcall(__pa, v)
            assert(not ok)
            -- arch/x86/mm/physaddr.c:77 VIRTUAL_BUG_ON(__vmalloc_start_set && is_vmalloc_addr((void *) x))
            assert(tostring(e):find("kernel BUG at arch/x86/mm/physaddr.c:77!", 1, true), tostring(e))
            ok, e = pcall(virt_to_phys, 0x1000)
            assert(tostring(e):find("kernel BUG at arch/x86/mm/physaddr.c:76!", 1, true), tostring(e))
            boot{arch="x86_64", ram="1G"}
            ok, e = pcall(__pa, vmalloc(4096))
            assert(tostring(e):find("kernel BUG at arch/x86/mm/physaddr.c:28!", 1, true), tostring(e))
            """)
        #expect(h.reports.last?.kind == .debugVirtual)
    }

    @Test func pageAddressIsNilForUnmappedHighmemUntilKmap() throws {
        let h = try KernelHarness()
        h.check("""
            local pg = alloc_page(GFP_HIGHUSER)
            assert(PageHighMem(pg) and pg.zone == "HighMem" and page_zone(pg) == "HighMem")
            assert(page_address(pg) == nil)
            local k = kmap(pg)
            assert(k >= PKMAP_BASE and k < PKMAP_BASE + LAST_PKMAP * PAGE_SIZE and page_address(pg) == k)
            poke(k, "hello")
            assert(peek(k, 5) == "hello")
            kunmap(pg)
            local l = kmap_local_page(pg)
            assert(peek(l, 5) == "hello")
            kunmap_local(l)
            local low = alloc_page(GFP_KERNEL)
            assert(not PageHighMem(low) and page_address(low) == PAGE_OFFSET + page_to_phys(low))
            assert(kmap(low) == page_address(low))
            assert(pfn_to_page(page_to_pfn(low)) == low)
            assert(tostring(low):match("^page{pfn=0x%x+, zone=Normal, owner=pages}$"), tostring(low))
            assert(tostring(virt_to_page(kmalloc(100, GFP_KERNEL))):find("owner=slab kmalloc-128", 1, true))
            __free_pages(pg, 0)
            __free_pages(low, 0)
            """)
        #expect(h.reports.isEmpty)
    }

    @Test func contentsThroughTheMMU() throws {
        let h = try KernelHarness()
        h.check("""
            local a, b = kmalloc(64, GFP_KERNEL), kmalloc(64, GFP_KERNEL)
            memset(a, 0x41, 64)
            assert(peek(a) == 0x41 and peek(a + 63) == 0x41)
            assert(peek(a, 4) == "AAAA")
            poke(b, "AAAA")
            poke(b + 4, 0x42)
            assert(memcmp(a, b, 4) == 0)
            assert(memcmp(a, b, 5) < 0 and memcmp(b, a, 5) > 0)
            memcpy(b, a, 64)
            assert(memcmp(a, b, 64) == 0)
            local z = kzalloc(100, GFP_KERNEL)
            assert(peek(z, 100) == string.rep("\\0", 100))
            local v = vzalloc(3 * PAGE_SIZE)
            assert(peek(v + PAGE_SIZE - 2, 4) == "\\0\\0\\0\\0")
            memcpy(v + PAGE_SIZE - 2, a, 4)
            assert(peek(v + PAGE_SIZE - 2, 4) == "AAAA")
            """)
        #expect(h.reports.isEmpty)
    }

    @Test func procAndCatShowTheKernelsFiles() throws {
        let h = try KernelHarness()
        h.check("""
            assert(proc("/proc/meminfo"):match("^MemTotal: +%d+ kB\\n"))
            assert(proc("/proc/meminfo"):find("\\nHighTotal:", 1, true))
            assert(proc("/proc/buddyinfo"):find("Node 0, zone   Normal", 1, true))
            assert(proc("/proc/slabinfo"):find("slabinfo - version: 2.1\\n", 1, true))
            local function my_driver_init() return vmalloc(4 * PAGE_SIZE) end
            local v = my_driver_init()
            -- mm/vmalloc.c s_show(): the caller is the function that called vmalloc.
            assert(proc("/proc/vmallocinfo"):sub(-71) == "\\n0xf7818000-0xf781d000   20480 my_driver_init [test:5] pages=4 vmalloc\\n", proc("/proc/vmallocinfo"))
            assert(proc("/proc/zoneinfo"):find("Node 0, zone  HighMem", 1, true))
            cat("/proc/buddyinfo")
            local ok, e = pcall(cat, "/proc/nope")
            assert(not ok and e:find("/proc/nope", 1, true) and e:find("known: /proc/{", 1, true) and e:find("meminfo", 1, true) and e:find("vmallocinfo", 1, true), e)
            ok, e = pcall(proc, 42)
            assert(not ok and e:find("^proc: path must be a string"), e)
            """)
        #expect(h.printed.hasPrefix("Node 0, zone      DMA "))
    }

    @Test func bootTakesEveryArgumentAndRefusesBadOnesKeepingTheMachine() throws {
        let h = try KernelHarness()
        h.check("""
            boot{arch="x86_64", ram="2G", era="6.x", seed=7, fragmented=true, tlb_entries=128, tlb_entries_large=16}
            assert(PAGE_OFFSET == 0xffff888000000000)
            assert(proc("/proc/meminfo"):match("MemTotal: +(%d+)") + 0 > 1900000)
            boot{ram=512 * 1024 * 1024}
            assert(PAGE_OFFSET == 0xC0000000)
            assert(not proc("/proc/buddyinfo"):find("HighMem"))
            boot()
            boot{}
            local marker = kmalloc(100, GFP_KERNEL)
            local bad = {
              {{arch="arm"}, "arch must be"}, {{arch=64}, "arch must be"},
              {{ram="3X"}, "ram must be"}, {{ram="16M"}, "out of range"}, {{ram="8G"}, "out of range"},
              {{ram=-1}, "ram must be"}, {{ram=1.5}, "ram must be"}, {{ram=0/0}, "ram must be"}, {{ram={}}, "ram must be"},
              {{era="5"}, "era must be"}, {{seed=1.5}, "seed must be"}, {{seed="x"}, "seed must be"},
              {{fragmented=1}, "fragmented must be"}, {{colour="red"}, "unknown option 'colour'"},
              {{tlb_entries=0}, "tlbEntries4K must be"}, {{[1]=true}, "unknown option"},
              {{arch="x86_64", ram="2T"}, "out of range"},
            }
            for _, case in ipairs(bad) do
              local ok, e = pcall(boot, case[1])
              assert(not ok, "boot accepted " .. case[2])
              assert(e:find("^boot: ") and e:find(case[2], 1, true), e)
            end
            local ok, e = pcall(boot, 5)
            assert(not ok and e:find("^boot: options must be a table"), e)
            -- The machine survived every refusal.
            assert(ksize(marker) == 128 and PAGE_OFFSET == 0xC0000000)
            """)
    }

    @Test func statsCountTheMMUAndTheClockAdvances() throws {
        let h = try KernelHarness()
        h.check("""
            local s0, t0 = stats(), ktime_get_ns()
            for _, k in ipairs{"tlb_hits", "tlb_misses", "page_walks", "page_faults", "ptes_written", "cycles"} do
              assert(math.type(s0[k]) == "integer", k)
            end
            local v = vmalloc(256 * PAGE_SIZE)
            local s1 = stats()
            assert(s1.ptes_written - s0.ptes_written == 256)
            for i = 0, 255 do peek(v + i * PAGE_SIZE) end
            local s2 = stats()
            assert(s2.tlb_misses - s1.tlb_misses == 256 and s2.page_walks - s1.page_walks == 256)
            local k = kmalloc(1 << 20, GFP_KERNEL)
            for i = 0, 255 do peek(k + i * PAGE_SIZE) end
            local s3 = stats()
            assert(s3.tlb_misses - s2.tlb_misses <= 1 and s3.tlb_hits - s2.tlb_hits >= 255)
            local ok = pcall(peek, v + 256 * PAGE_SIZE)
            assert(not ok and stats().page_faults == s3.page_faults + 1)
            assert(ktime_get_ns() > t0 and stats().cycles > s0.cycles)
            """)
    }

    @Test func allocationFailureWarningAndHighmemFixup() throws {
        let h = try KernelHarness()
        h.check("""
            assert(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN) == nil)
            assert(#reports() == 0)
            assert(alloc_pages(GFP_KERNEL, 11) == nil)
            assert(#reports() == 1)
            local p = kmalloc(100, GFP_KERNEL | __GFP_HIGHMEM)
            assert(p and not PageHighMem(virt_to_page(p)))
            assert(dmesg():find("Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). Fix your code!", 1, true))
            boot{ram="64M"}
            local n = 0
            while alloc_page(GFP_ATOMIC) do n = n + 1 end
            assert(n > 1000)
            assert(dmesg():find("insmod: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null)", 1, true), dmesg())
            """)
    }

    @Test func allocationAndFreeStacksNameTheRightLuaFunctions() throws {
        // The call traces are memoized per stack: different call sites must still differ.
        let h = try KernelHarness()
        h.check("""
            local function alloc_here() return kmalloc(32, GFP_KERNEL) end
            local function alloc_there() return kmalloc(32, GFP_KERNEL) end
            local function free_it(p) kfree(p) end
            local a, b = alloc_here(), alloc_there()
            for i = 1, 3 do kfree(kmalloc(32, GFP_KERNEL)) end
            free_it(b)
            local x = peek(b + 1)
            """)
        let r = try #require(h.reports.first { $0.kind == .useAfterFree })
        let text = r.text
        let allocated = try #require(text.range(of: "Allocated by task"))
        let freed = try #require(text.range(of: "Freed by task"))
        #expect(text[allocated.upperBound..<freed.lowerBound].contains("alloc_there [test:2]"))
        #expect(!text[allocated.upperBound..<freed.lowerBound].contains("alloc_here"))
        #expect(text[freed.upperBound...].contains("free_it [test:3]"))
        #expect(r.headline.hasPrefix("BUG: KASAN: slab-use-after-free in <chunk> [test:7]"))
    }

    @Test func aFreeOnTheAllocationsLineIsNamedKfreeInFreedBy() throws {
        // kmalloc and kfree called from the same Lua frame and line: the
        // memoized traces must still name the Swift function that ran.
        let h = try KernelHarness()
        h.check("""
            local p = kmalloc(64, GFP_KERNEL) kfree(p)
            kfree(p)
            """)
        let r = try #require(h.reports.first { $0.kind == .doubleFree })
        let text = r.text
        let allocated = try #require(text.range(of: "Allocated by task"))
        let freed = try #require(text.range(of: "Freed by task"))
        #expect(text[allocated.upperBound..<freed.lowerBound].contains(" kmalloc\n"))
        #expect(text[freed.upperBound...].contains(" kfree\n <chunk> [test:1]"))
        #expect(!text[freed.upperBound...].contains(" kmalloc\n"))
    }

    @Test func sizeClassesFromLua() throws {
        let h = try KernelHarness()
        h.check("""
            local want = {[1]=8, [8]=8, [9]=16, [65]=96, [96]=96, [97]=128, [129]=192, [193]=256, [8192]=8192, [8193]=16384, [4194304]=4194304}
            for size, usable in pairs(want) do
              local p = kmalloc(size, GFP_KERNEL)
              assert(ksize(p) == usable, size .. " -> " .. ksize(p))
              kfree(p)
            end
            local a = kmalloc(64, GFP_KERNEL); kfree(a)
            assert(kmalloc(50, GFP_KERNEL) == a, "LIFO")
            assert(kcalloc(0x40000000, 8, GFP_KERNEL) == nil and kmalloc_array(0x10000, 0x10000, GFP_KERNEL) == nil)
            local r = krealloc(nil, 10, GFP_KERNEL)
            assert(ksize(r) == 16 and krealloc(r, 12, GFP_KERNEL) == r)
            boot{era="2.6"}
            assert(ksize(kmalloc(1, GFP_KERNEL)) == 32 and ksize(kmalloc(131072, GFP_KERNEL)) == 131072)
            assert(kmalloc(131073, GFP_KERNEL) == nil)
            """)
    }
}
