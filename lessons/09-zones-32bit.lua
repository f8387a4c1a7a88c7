-- Lesson 9: zones, lowmem and highmem on 32-bit. Vocabulary: lessons/README.md.

-- The most lowmem x86_32 can have (MAXMEM) in each era; see lowmem_end.
local LOWMEM_MAX_26 = 896 << 20
local LOWMEM_MAX_612 = 0x36FFE000

local function lowmem_words(bytes)
  if bytes % (1 << 20) == 0 then return (bytes >> 20) .. " MiB" end
  return string.format("0x%X", bytes)
end

local function page_bytes(page, n)
  local a = kmap_local_page(page)
  local s = peek(a, n)
  kunmap_local(a)
  return s
end

return lesson{
  id = "09-zones-32bit",
  title = "Zones on 32-bit: lowmem, highmem and the 64-bit contrast",
  text = [[
# Zones on 32-bit: lowmem and highmem

A 32-bit CPU has 4 GiB of virtual addresses. With the classic x86 3G/1G
split, user space gets the lower 3 GiB and the kernel the top 1 GiB, from
PAGE_OFFSET = 0xC0000000 up. The kernel wants all of RAM at hand in its
direct map (lesson 3) -- but 1 GiB of kernel addresses cannot map 1 GiB of
RAM *and* leave room for vmalloc, kmap and the fixmap. So:

* **lowmem**: physical memory from 0 up to the end of lowmem is mapped
  permanently at PAGE_OFFSET + phys. high_memory marks its end. On a 2.6
  kernel (`boot{era="2.6"}`) that is exactly 896 MiB. Since 4.15 the top of
  the kernel's space also holds the CPU entry area and the LDT remap, which
  push the pkmap area and the vmalloc area down: 6.12 (kmlab's default)
  ends lowmem at 0x36FFE000, just under 880 MiB
  (arch/x86/include/asm/pgtable_32_areas.h).
* the next 128 MiB of kernel addresses hold the vmalloc area (starting
  8 MiB after high_memory: VMALLOC_START = 0xF77FE000 on kmlab's 1 GiB
  6.12 machine, 0xF8800000 on 2.6), then the pkmap area for kmap() and
  the fixmap.
* **highmem**: physical memory above the end of lowmem has *no* permanent
  kernel address at all.

The zones follow: ZONE_DMA (below 16 MiB, for old ISA devices), ZONE_NORMAL
(up to the end of lowmem), ZONE_HIGHMEM (the rest). `cat("/proc/zoneinfo")` shows
their ranges; `page.zone` tells you a page's zone.

## Highmem pages

Only the page allocator hands out highmem, and only when you allow it:
`alloc_page(GFP_HIGHUSER)` (user pages, page cache). Such a page has a
`struct page` and a pfn, but `page_address(page)` is NULL: there is no
address to write to. To touch it, map it for a moment:

    local page = alloc_page(GFP_HIGHUSER)
    print(page.zone, page_address(page))    --> HighMem  nil
    local a = kmap_local_page(page)         -- a short-lived mapping
    poke(a, "hello")
    kunmap_local(a)

`kmap(page)`/`kunmap(page)` use the pkmap area (1024 slots, may sleep);
`kmap_local_page`/`kunmap_local` use per-CPU fixmap slots, are cheap, and
must be undone in reverse order. On a lowmem page both just return its
direct-map address.

`__pa` works only for lowmem addresses. A kmap address is outside the
direct map: CONFIG_DEBUG_VIRTUAL turns `__pa` of it into
`kernel BUG at arch/x86/mm/physaddr.c`. `__va(phys)` of a highmem address
points past high_memory, into the vmalloc area -- using it is a page fault.
Go through the page instead: `page_to_phys(page)`, `kmap_local_page(page)`.

## kmalloc never gives highmem

kmalloc returns an address that code can use forever, so its memory must
be in the direct map: lowmem. A common misconception is that
`kmalloc(size, GFP_KERNEL | __GFP_HIGHMEM)` returns highmem. The kernel
instead warns `Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0
(GFP_KERNEL). Fix your code!` and allocates lowmem. vmalloc, on the other
hand, maps its pages itself, so it happily uses highmem pages
(`vmalloc_to_page(v).zone`).

## The 64-bit contrast

x86_64 has 128 TiB of kernel address space: the direct map covers all RAM
(PAGE_OFFSET = 0xffff888000000000) and there is no highmem. The zones are
DMA (below 16 MiB), DMA32 (below 4 GiB, for devices with 32-bit DMA) and
Normal. kmap() of any page returns its direct-map address. Try
`boot{arch = "x86_64"}` and allocate with GFP_HIGHUSER.

What kmlab simplifies: no PAE, no NUMA nodes, no ZONE_MOVABLE use; the
pkmap area does not run out in practice.

## Exercises

Start with `kmlab lesson 9 --template > a9.lua`.
]],
  exercises = {
    question{
      id = "lowmem_end", points = 2,
      -- The era and the machine's RAM per learner. Lowmem ends at
      -- min(RAM, MAXMEM): MAXMEM is 896 MiB on 2.6.18 (1 GiB less
      -- __VMALLOC_RESERVE) and 0x36FFE000 on 6.12, whose CPU entry area and
      -- LDT remap push PKMAP_BASE down to 0xff000000 (VMALLOC_END - PAGE_OFFSET
      -- - 128 MiB; arch/x86/include/asm/pgtable_32_areas.h, arch/x86/mm/init_32.c
      -- lowmem_pfn_init/highmem_pfn_init). With less RAM than that, all of it
      -- is lowmem.
      variant = function(rng)
        local era = rng:pick({ "2.6", "6.x" })
        local ram = rng:pick({ { "512M", 512 << 20 }, { "768M", 768 << 20 }, { "1G", 1 << 30 }, { "1536M", 1536 << 20 },
                               { "2G", 2 << 30 }, { "3G", 3 << 30 } })
        local maxmem = era == "2.6" and LOWMEM_MAX_26 or LOWMEM_MAX_612
        return { era = era, ram_text = ram[1], ram = ram[2], maxmem = maxmem, lowmem = math.min(ram[2], maxmem) }
      end,
      explain = function(v)
        if v.ram <= v.maxmem then
          return "This machine's RAM all fits in the direct map (at most " .. lowmem_words(v.maxmem) .. " on " .. v.era .. "), so lowmem ends where RAM does and there is no highmem at all."
        end
        return "The kernel's 1 GiB of addresses above PAGE_OFFSET must also hold the vmalloc area, pkmap and the fixmap (128 MiB and more), so only " .. lowmem_words(v.maxmem) .. " of RAM can be mapped permanently on " .. v.era .. " (2.6: 896 MiB; 6.12 also fits the CPU entry area and LDT remap up there: 0x36FFE000)."
      end,
      prompt = function(v)
        return "On an x86_32 machine booted with boot{era=\"" .. v.era .. "\", ram=\"" .. v.ram_text .. "\"} (3G/1G split, no PAE), at which physical address does lowmem end: where ZONE_NORMAL stops, above which any highmem begins? (bytes, hex, or e.g. \"512M\")"
      end,
      answer = function(v) return numeric(v.lowmem, { units = true }) end,
      feedback = function(v)
        local fb = {
          [3221225472] = "0xC0000000 is PAGE_OFFSET, a virtual address; the question is about physical memory.",
          [16777216] = "16 MiB is the end of ZONE_DMA.",
        }
        local other = v.era == "2.6" and LOWMEM_MAX_612 or LOWMEM_MAX_26
        if v.ram > v.maxmem then
          fb[1073741824] = "1 GiB is all of the kernel's virtual space: the vmalloc area, pkmap and fixmap need the last 128 MiB of it" .. (v.era == "6.x" and ", and 6.12 also fits the CPU entry area and LDT remap up there." or ".")
          if v.ram ~= 1073741824 then fb[v.ram] = "That is all of this machine's RAM; the direct map cannot hold that much: the rest is highmem." end
          if other < v.ram then
            fb[other] = "That is where lowmem ends on " .. (v.era == "2.6" and "6.12 (kmlab's default era)" or "2.6") .. "; this machine runs " .. v.era .. ". Boot it and read /proc/zoneinfo."
          end
        else
          fb[v.maxmem] = "That is the most lowmem " .. v.era .. " can have; this machine has only " .. v.ram_text .. " of RAM, and all of it fits in the direct map."
          if v.maxmem ~= LOWMEM_MAX_26 then fb[LOWMEM_MAX_26] = fb[v.maxmem] end
          fb[1073741824] = "This machine has only " .. v.ram_text .. " of RAM: there is no RAM up there."
        end
        return fb
      end,
      hints = function(v)
        return { "Lowmem is the RAM the direct map can hold: all of it, up to the kernel's 1 GiB less the vmalloc area, pkmap and fixmap (and on 6.12 the CPU entry area).",
                 "boot{arch=\"x86_32\", era=\"" .. v.era .. "\", ram=\"" .. v.ram_text .. "\"} cat(\"/proc/zoneinfo\") -- the Normal zone ends at (start_pfn + spanned) * PAGE_SIZE" }
      end,
    },
    question{
      id = "kmalloc_highmem", points = 1,
      explain = "Slab objects must have a permanent kernel address, so kmalloc strips __GFP_HIGHMEM, warns about the invalid flag and allocates lowmem.",
      prompt = "What does kmalloc(64, GFP_KERNEL | __GFP_HIGHMEM) do on a 32-bit kernel?",
      answer = choice{
        "returns a highmem object, which must be mapped with kmap() before each use and unmapped after",
        "returns NULL: the slab allocator has no highmem caches, so the allocation fails at once",
        "warns \"Unexpected gfp: 0x2 (__GFP_HIGHMEM) ... Fix your code!\" and returns lowmem",
        "returns a struct page for a highmem frame instead of an address, as alloc_page would",
      correct = 3 },
      feedback = {
        a = "That is the common misconception: kmalloc memory is always in the direct map. Try it and read dmesg().",
        b = "It does not fail; it strips the flag and says so.",
        d = "kmalloc always returns an address (or NULL), never a struct page.",
      },
      hints = { "Try it in kmlab and print dmesg()." },
    },
    question{
      id = "x86_64", points = 1,
      explain = "A 64-bit kernel has room to map all of RAM in its direct map, so there is no highmem and page_address() always works.",
      prompt = "On x86_64, what does page_address() return for a page from alloc_page(GFP_HIGHUSER)?",
      answer = choice{
        "nil until the page is mapped with kmap(): a GFP_HIGHUSER page is a highmem page",
        "its address in the direct map: 64-bit kernels have no highmem",
        "an address in the vmalloc area, where x86_64 maps the pages of its highmem zone",
      correct = 2 },
      feedback = { a = "There is no highmem on x86_64: every page is in the direct map.", c = "vmalloc addresses exist only for vmalloc mappings." },
      hints = { "boot{arch=\"x86_64\"}; local p = alloc_page(GFP_HIGHUSER); print(p.zone, page_address(p))" },
    },
    task{
      id = "highmem_write", points = 3, expects = "write_page", template = "page, s",
      explain = "A highmem page has no permanent kernel address: kmap_local_page() (or kmap()) gives it one for a moment, and kunmap_local() (or kunmap()) gives the slot back, since there are only a few of them.",
      prompt = "Write write_page(page, s): copy the string s (1 byte to a whole page) to the start of the page (a struct page from alloc_page(GFP_HIGHUSER): a highmem page on a 32-bit machine), leave the rest of the page alone, and undo any mapping you make. The grader calls it for many pages, each with its own string, as a driver would over its lifetime, on several machines.",
      -- 32-bit machines of both eras (fresh and aged) and a 64-bit one
      -- (no highmem: kmap is the direct map), each with its own pages,
      -- string lengths (one byte, a whole page, sizes between) and a number
      -- of pkmap slots left free: setup holds the others with kmaps of its
      -- own, so a kmap() never undone runs out of slots after a few calls
      -- (kmap then sleeps for ever and the hung-task detector reports it)
      -- instead of after LAST_PKMAP (1024) of them.
      cases = function(rng)
        local machines = { { era = "6.x" }, { era = "2.6" }, { era = "6.x", fragmented = true, seed = rng:int(1, 1 << 30) }, { arch = "x86_64" } }
        local list = {}
        for _, m in ipairs(machines) do
          local free = rng:int(6, 40)
          local lens = { 1, PAGE_SIZE }
          for _ = 3, free + rng:int(4, 12) do lens[#lens + 1] = rng:pick({ rng:int(2, 64), rng:int(65, PAGE_SIZE - 1) }) end
          rng:shuffle(lens)
          local label = "write_page on " .. (m.arch == "x86_64" and "an x86_64" or ((m.fragmented and "an aged " or "a fresh ") .. m.era .. " x86_32")) .. " machine"
          list[#list + 1] = { boot = m, free_slots = free, lens = lens, salt = rng:int(0, 89), skip = rng:int(0, 50), label = label }
        end
        return list
      end,
      setup = function(case)
        -- The address slot 0 of the kmap_local stack maps at: after each
        -- call, a kmap_local_page that lands anywhere else means the
        -- learner's code left one of its own in place.
        local probe = alloc_page(GFP_HIGHUSER)
        local base = kmap_local_page(probe)
        kunmap_local(base)
        if PageHighMem(probe) then
          for _ = 1, LAST_PKMAP - case.free_slots do kmap(alloc_page(GFP_HIGHUSER)) end
        end
        -- Pages further into highmem for some learners.
        for _ = 1, case.skip do alloc_page(GFP_HIGHUSER) end
        return probe, base, case.lens, case.salt
      end,
      -- Each call on a page of its own that stays allocated, filled first
      -- with a pattern; checked right away: the string at the start, the
      -- pattern after it, and the kmap_local stack's depth.
      call = function(write_page, probe, base, lens, salt)
        local seen = { calls = 0 }
        for i, len in ipairs(lens) do
          local page = alloc_page(GFP_HIGHUSER)
          local fill = string.rep(string.char(33 + (salt + 3 * i) % 90), PAGE_SIZE)
          local m = kmap_local_page(page)
          poke(m, fill)
          kunmap_local(m)
          local head = string.format("page %d of %d: ", i, #lens)
          local s = (head .. string.rep(string.char(97 + (salt + i) % 26), len)):sub(1, len)
          write_page(page, s)
          seen.calls = i
          local got = page_bytes(page, PAGE_SIZE)
          if got:sub(1, len) ~= s then seen.wrong = i; seen.len = len; seen.expected = s:sub(1, 40); seen.got = got:sub(1, 40); break end
          if got:sub(len + 1) ~= fill:sub(len + 1) then seen.beyond = i; seen.len = len; break end
          local a = kmap_local_page(probe)
          kunmap_local(a)
          if a ~= base then seen.left_local = i; break end
        end
        seen.total = #lens
        return seen
      end,
      max_instructions = 2000000,
      check = function(r)
        local seen = r.returned
        if type(seen) ~= "table" then return fail("the grader could not run your function") end
        if seen.wrong then
          return fail(string.format("call %d (a string of %d bytes): the page should start with %q..., it starts with %q...", seen.wrong, seen.len, seen.expected, tostring(seen.got)))
        end
        if seen.beyond then
          return fail(string.format("call %d (a string of %d bytes): bytes after the string changed: copy exactly #s bytes to the start of the page.", seen.beyond, seen.len))
        end
        if seen.left_local then
          return fail("after write_page returned (call " .. seen.left_local .. "), a kmap_local_page mapping of yours was still in place: undo each one with kunmap_local(addr) before returning. Those slots are few (16 per CPU) and strictly stacked.", { hint = "unmap" })
        end
        if seen.calls ~= seen.total then return fail("the grader could not run your function") end
        return pass()
      end,
      hints = {
        "page_address(page) is nil for a highmem page: map it first, and unmap it before you return.",
        "local a = kmap_local_page(page); poke(a, s); kunmap_local(a) -- or kmap(page) ... kunmap(page): every kmap holds one of only 1024 pkmap slots until kunmap.",
        unmap = {
          "Each kmap_local_page(page) must be matched by kunmap_local(address) before write_page returns.",
          "local a = kmap_local_page(page); poke(a, s); kunmap_local(a)",
        },
      },
    },
    task{
      id = "phys_of", points = 3, expects = "phys_of", template = "addr",
      explain = "Direct-map addresses are PAGE_OFFSET + physical, so __pa() is arithmetic; a vmalloc address needs a page-table walk (vmalloc_to_page) plus the offset within the page.",
      prompt = "Write phys_of(addr): the physical address behind a kernel virtual address that is either in the direct map (kmalloc) or in the vmalloc area, not necessarily page-aligned. It is called with an address inside a kmalloc buffer and one inside a vmalloc buffer (whose pages come from highmem on a 32-bit machine), on several machines and at offsets you cannot predict.",
      -- Both architectures and both eras, and offsets drawn per learner:
      -- a remembered offset or a direct-map formula for every address fails.
      cases = function(rng)
        local list = {}
        for _, b in ipairs({ {}, { arch = "x86_64" }, { era = "2.6" } }) do
          list[#list + 1] = { boot = b, koff = rng:int(0, 255), vpage = rng:int(0, 3), voff = rng:int(0, 4095) }
        end
        return list
      end,
      setup = function(case)
        return kmalloc(256, GFP_KERNEL) + case.koff, vmalloc(4 * PAGE_SIZE) + case.vpage * PAGE_SIZE + case.voff
      end,
      call = function(f, k, v) return f(k), f(v) end,
      check = function(r)
        local k, v = r.args[1], r.args[2]
        local want_k = __pa(k)
        local want_v = page_to_phys(vmalloc_to_page(v)) + v % PAGE_SIZE
        if r.results[1] ~= want_k then return fail(string.format("for the kmalloc address the answer is __pa(addr) = 0x%x; you returned %s.", want_k, tostring(r.results[1]))) end
        if r.results[2] ~= want_v then
          if r.results[2] == want_v - v % PAGE_SIZE then return fail("the vmalloc answer lacks the offset within the page (addr % PAGE_SIZE).") end
          return fail(string.format("for the vmalloc address the answer is 0x%x (page_to_phys(vmalloc_to_page(addr)) + offset); you returned %s.", want_v, tostring(r.results[2])))
        end
        return pass()
      end,
      hints = { "Direct map: arithmetic. vmalloc: walk the page table with vmalloc_to_page, then add the offset within the page.", "if is_vmalloc_addr(addr) then return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE end; return __pa(addr)" },
    },
  },
}
