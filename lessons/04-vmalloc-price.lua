-- Lesson 4: what vmalloc costs. Vocabulary: lessons/README.md.

return lesson{
  id = "04-vmalloc-price",
  title = "The price of vmalloc: page tables, TLB misses, time",
  text = [[
# The price of vmalloc

vmalloc gives you a large buffer that is contiguous in virtual space out
of scattered pages (lesson 3). That is not free. This lesson measures the
bill with kmlab's counters and its simulated clock.

## Building the mapping

For `vmalloc(size)` the kernel
1. reserves a range of virtual addresses in the vmalloc area (plus one
   unmapped guard page after it, to catch overruns: /proc/vmallocinfo shows
   the size with the guard page included);
2. allocates the pages, one at a time (order 0);
3. writes one page-table entry (PTE) per page, and page-table pages where
   the range needs new ones.

So vmalloc(1 MiB) allocates 256 pages and writes 256 PTEs. kmalloc(1 MiB)
takes one order-8 block and writes no PTE at all: the direct map was built
at boot, with large pages (DirectMap4M in /proc/meminfo on x86_32), and
covers all of lowmem already.

    local s0, t0 = stats(), ktime_get_ns()
    local v = vmalloc(1 << 20)
    local s1 = stats()
    print(s1.ptes_written - s0.ptes_written, ktime_get_ns() - t0)

`vfree` undoes it: it clears the PTEs and must flush the stale translations
from the TLB -- on a real SMP machine from every CPU's TLB, with
inter-processor interrupts. That is why vfree is much slower than kfree,
and why the kernel batches ("lazily purges") vmalloc TLB flushes. This
lesson's machine has one CPU and flushes at once, counted in
`tlb_flushes`; lesson 14 boots more CPUs and measures the batching.

## Using the mapping: the TLB

Every memory access translates a virtual address. The TLB caches recent
translations; a miss costs a page-table walk (`page_walks`), which takes
memory accesses of its own. kmlab's x86 TLB has 64 entries for 4 KiB
pages and 32 for large pages (`boot{}` defaults), evicting the least
recently used entry.

* A kmalloc buffer lives in the direct map: one 4 MiB large-page entry
  covers a thousand pages. Touching every page of a 512 KiB kmalloc buffer
  costs at most one miss.
* A vmalloc buffer uses 4 KiB entries: touching each of its pages costs one
  miss per page the first time. If the buffer has more pages than the TLB
  has entries and you sweep it again and again, LRU eviction throws out
  every entry just before you need it again: every access misses. That is
  TLB thrashing.

Measured in kmlab (4 sweeps, one byte read per page):

    pages   vmalloc misses   kmalloc misses
       16               16                1
       64               64                0
      128              512                0

The simulated clock charges a TLB miss and a page walk more than a hit, so
`ktime_get_ns()` differences show the same story in nanoseconds. The costs
are kmlab's model, not a particular CPU's; real ratios vary, the shape does
not.

## So when vmalloc?

For large buffers that are set up once and touched rarely or sequentially
(module code, big tables built at init), the price is fine and vmalloc
avoids the high-order allocations that fail on a fragmented machine
(lesson 8). For small buffers, hot data, anything handed to a device, use
kmalloc. kvmalloc picks for you: kmalloc first, without warnings or
retries (`__GFP_NORETRY` above a page), and vmalloc when that fails.

For the hot buffer of the exercises, kvmalloc(size, GFP_KERNEL) is
accepted: whenever its kmalloc succeeds -- on every machine the grader
boots, fresh or aged, since kmlab's compaction and kswapd find the block --
it returns the same direct-map buffer kmalloc would, and the grader judges
the buffer it gets, not the call that made it. Know what you gave up,
though: under real memory pressure (a block that only heavy reclaim would
free) kvmalloc quietly falls back to vmalloc and its PTEs and TLB misses,
where kmalloc with GFP_KERNEL would reclaim and compact harder, or fail
and say so. A driver that needs the direct map asks for it with kmalloc.

## Exercises

Start with `kmlab lesson 4 --template > a4.lua`.
]],
  exercises = {
    question{
      id = "ptes", points = 2,
      variant = function(rng)
        local kib = rng:pick{ 256, 512, 768, 1024, 1536, 2048, 3072 } + 4 * rng:int(0, 15)
        return { kib = kib, pages = kib // 4 }
      end,
      prompt = function(v)
        return "How many page-table entries does vmalloc(" .. v.kib .. " * 1024) write for its pages?"
      end,
      answer = function(v) return numeric(v.pages) end,
      feedback = function(v)
        return {
          [1] = "One PTE per page, not one per allocation.",
          [v.pages + 1] = "The guard page is reserved but never mapped: no PTE for it.",
          [0] = "That is kmalloc: the direct map is already mapped. vmalloc builds a new mapping.",
          [v.kib] = "That counts KiB: " .. v.kib .. " KiB is " .. v.pages .. " pages of 4 KiB.",
        }
      end,
      hints = function(v)
        return { "One PTE maps one 4 KiB page.", "Measure: stats().ptes_written before and after vmalloc(" .. v.kib .. " * 1024)." }
      end,
    },
    question{
      id = "thrash", points = 2,
      -- Below or above the TLB's 64 entries: the answer is a first sweep's
      -- misses, or every read.
      variant = function(rng)
        local pages = rng:int(2) == 1 and rng:int(16, 60) or rng:int(70, 200)
        local sweeps = rng:int(2, 6)
        return { pages = pages, sweeps = sweeps, reads = pages * sweeps, misses = pages <= 64 and pages or pages * sweeps }
      end,
      prompt = function(v)
        return "The TLB holds 64 translations for 4 KiB pages (LRU). A loop reads one byte from each page of a " .. v.pages .. "-page vmalloc buffer, in order, " .. v.sweeps .. " times over. How many of the " .. v.reads .. " reads miss the TLB?"
      end,
      answer = function(v) return numeric(v.misses) end,
      feedback = function(v)
        local fb = {
          [0] = "Contiguous in virtual space, but each 4 KiB page needs its own translation.",
          [64] = "64 is the TLB's size, not the number of misses: follow which pages are cached after each read.",
        }
        if v.pages > 64 then
          fb[v.pages] = "The second sweep would hit only if all " .. v.pages .. " translations were still cached; the TLB holds 64, and LRU evicts each one before it is needed again."
          fb[v.pages * v.sweeps - 64] = "With LRU and a sweep larger than the cache, nothing survives until its next use."
        else
          fb[v.reads] = v.pages .. " translations fit in the TLB: after the first sweep every read hits."
        end
        return fb
      end,
      hints = function(v)
        return { "Follow the TLB through the first sweep: does it hold all " .. v.pages .. " translations at the end, and which entry does each new read evict?",
                 "Measure it: sweep a vmalloc(" .. v.pages .. " * PAGE_SIZE) buffer " .. v.sweeps .. " times and compare stats().tlb_misses." }
      end,
    },
    question{
      id = "vfree", points = 1,
      prompt = "Why does vfree cost much more than kfree?",
      answer = choice{
        "it must zero the pages",
        "it clears the page-table entries and flushes the stale translations from the TLB (of every CPU)",
        "it returns the pages to the buddy allocator one by one, which takes a lock each time, and nothing else",
        "it does not: both only mark memory free",
      correct = 2 },
      feedback = { a = "Freed pages are not zeroed (lesson 1's stale data)." },
      hints = { "What did vmalloc build that kmalloc did not?" },
    },
    task{
      id = "measure", points = 3, expects = "tlb_misses_touching", template = "addr, pages",
      prompt = "Write tlb_misses_touching(addr, pages): read one byte from each of the pages pages starting at addr, once, and return how many TLB misses that cost (measure it with stats()). It is called several times: on kmalloc and vmalloc buffers of various sizes, sometimes on a buffer it has just touched.",
      -- The grader counts the misses each call really caused (stats()
      -- around the call) and compares: a count worked out from the size
      -- and the kind of buffer is wrong once translations are cached, or
      -- when the buffer outgrows the TLB.
      cases = function(rng)
        local list = {}
        for _, arch in ipairs{ "x86_32", "x86_64" } do
          list[#list + 1] = { boot = { arch = arch }, label = "an " .. arch .. " machine", small = rng:int(4, 48), big = rng:int(70, 120), kpages = rng:pick{ 4, 8, 16 } }
        end
        return list
      end,
      setup = function(case)
        local k = kmalloc(case.kpages * PAGE_SIZE, GFP_KERNEL)
        return k, case.kpages, vmalloc(case.small * PAGE_SIZE), case.small, vmalloc(case.big * PAGE_SIZE), case.big
      end,
      call = function(tlb_misses_touching, k, kp, small, sp, big, bp)
        local calls = { { k, kp, "the " .. kp .. "-page kmalloc buffer" },
                        { small, sp, "a fresh " .. sp .. "-page vmalloc buffer" },
                        { small, sp, "the same " .. sp .. "-page vmalloc buffer again, just after" },
                        { big, bp, "a " .. bp .. "-page vmalloc buffer (more pages than the TLB holds)" },
                        { big, bp, "the same " .. bp .. "-page buffer again" } }
        local got, seen = {}, {}
        for i, call in ipairs(calls) do
          local before = stats().tlb_misses
          got[i] = tlb_misses_touching(call[1], call[2])
          seen[i] = stats().tlb_misses - before
        end
        return got, seen, calls
      end,
      check = function(r)
        local got, seen, calls = r.results[1], r.results[2], r.results[3]
        if type(got) ~= "table" then return fail("tlb_misses_touching returned nothing usable") end
        for i = 1, #calls do
          local what = calls[i][3]
          if math.type(got[i]) ~= "integer" then
            return fail("tlb_misses_touching should return a number of misses (an integer); for " .. what .. " it returned " .. tostring(got[i]) .. ".")
          end
          if got[i] ~= seen[i] then
            return fail("for " .. what .. " your call caused " .. seen[i] .. " TLB miss(es) but returned " .. got[i] .. ": measure, with stats().tlb_misses just before and just after the reads.", { hint = "measure" })
          end
        end
        if seen[2] ~= calls[2][2] then
          return fail("touching each page of " .. calls[2][3] .. " once costs one miss per page (" .. calls[2][2] .. "); your reads caused " .. seen[2] .. ": read one byte of every page.", { hint = "touch" })
        end
        if seen[1] > 1 then
          return fail("the kmalloc buffer is in the direct map, covered by one large-page translation: at most 1 miss; your reads caused " .. seen[1] .. ".")
        end
        return pass()
      end,
      hints = { "local before = stats().tlb_misses; ... peek(addr + i * PAGE_SIZE) ...; return stats().tlb_misses - before", "Read each page once: i = 0 .. pages - 1.",
                measure = { "Return what stats() says, not what you expect: a translation still in the TLB costs no miss." },
                touch = { "Read one byte of every page: peek(addr + i * PAGE_SIZE) for i = 0 .. pages - 1." } },
      explain = "The TLB caches recent translations: a buffer touched a moment ago costs nothing, one larger than the TLB misses on every page each sweep, and the direct map's large pages cover a kmalloc buffer with one entry. Only a measurement knows which case you are in.",
    },
    task{
      id = "hot_buffer", points = 2, expects = "alloc_hot_buffer", template = "size",
      prompt = "Write alloc_hot_buffer(size): a buffer of size bytes (from a few pages to a few MiB) that the driver's fast path reads on every packet, allocated in process context. Choose the allocation that costs no page-table entries and no TLB pressure. Return its address. The grader asks for several sizes, on both architectures, on fresh and on long-running (fragmented) machines, and reads every page of the buffer itself, counting the TLB misses.",
      -- A size per machine from each range (a few pages, tens of pages, more
      -- pages than the TLB holds, up to 4 MiB), on fresh and fragmented
      -- machines of both architectures: a remembered size is too small, a
      -- buffer kept from an earlier call belongs to another machine, and the
      -- grader's own sweep counts what the buffer costs the TLB.
      cases = function(rng)
        local sizes = { rng:int(4, 15) * 4096 + rng:int(1, 4095), rng:int(17, 63) * 4096 + rng:int(0, 4095),
                        rng:int(65, 511) * 4096 + rng:int(1, 4095), rng:int(513, 1024) * 4096 }
        rng:shuffle(sizes)
        local machines = {
          { arch = "x86_32" }, { arch = "x86_64" },
          { arch = "x86_32", fragmented = true, seed = rng:int(1, 1 << 30) },
          { arch = "x86_64", fragmented = true, seed = rng:int(1, 1 << 30) },
        }
        local list = {}
        for i, m in ipairs(machines) do
          local label = "alloc_hot_buffer(" .. sizes[i] .. ") on " .. (m.fragmented and "a fragmented " or "a fresh ") .. m.arch .. " machine"
          list[i] = { boot = m, args = { sizes[i] }, label = label }
        end
        return list
      end,
      -- The grader reads one byte of every page of the buffer right after
      -- the call, as the fast path would, and counts the TLB misses (only
      -- when the buffer is a direct-map allocation at least size bytes long:
      -- anything else is judged without touching it).
      call = function(alloc_hot_buffer, size)
        local s0 = stats()
        local p = alloc_hot_buffer(size)
        local s1 = stats()
        local have
        if math.type(p) == "integer" and not is_vmalloc_addr(p) and virt_addr_valid(p) then
          local page = virt_to_page(p)
          if page.owner == "pages" then have = PAGE_SIZE << page.order
          elseif page.owner == "kmalloc-large" or (type(page.owner) == "string" and page.owner:match("^slab kmalloc")) then have = ksize(p) end
        end
        local misses
        if have and have >= size then
          local before = stats().tlb_misses
          for off = 0, size - 1, PAGE_SIZE do peek(p + off) end
          peek(p + size - 1)
          misses = stats().tlb_misses - before
        end
        return p, s1.ptes_written - s0.ptes_written, have, misses
      end,
      check = function(r)
        local p, written, have, misses = r.results[1], r.results[2], r.results[3], r.results[4]
        local size = r.args[1]
        if math.type(p) ~= "integer" then return fail("alloc_hot_buffer should return an address, got " .. tostring(p) .. ".") end
        if is_vmalloc_addr(p) then
          return fail("a vmalloc buffer: " .. written .. " PTEs written, and one 4 KiB TLB entry per page needed to touch it all. For hot data, kmalloc.", { hint = "direct-map" })
        end
        if written ~= 0 then return fail("your call wrote " .. written .. " page-table entries: the direct map needs none.", { hint = "direct-map" }) end
        local mine = false
        for _, a in ipairs(r.allocated) do if a.address == p then mine = true end end
        if not mine then return fail("the address returned is not an allocation this call made (a buffer kept from an earlier call belongs to another machine, or was freed).") end
        if #r.allocated ~= 1 then return fail(#r.allocated .. " allocations of this call are still live; only the buffer returned should be.") end
        if not have then return fail("the buffer is not a kmalloc or page-allocator block in the direct map.") end
        if have < size then return fail("the buffer holds " .. have .. " bytes; " .. size .. " were asked for.", { hint = "size" }) end
        if have >= 2 * size and have > PAGE_SIZE then return fail("the buffer holds " .. have .. " bytes for " .. size .. " asked: more than twice what is needed.", { hint = "size" }) end
        -- One large-page translation covers up to 2 MiB (x86_64) or 4 MiB (x86_32) of the direct map.
        local spans = ((p + size - 1) >> 21) - (p >> 21) + 1
        if type(misses) ~= "number" or misses > spans then
          return fail("reading each page of the buffer once cost " .. tostring(misses) .. " TLB misses; a direct-map buffer costs at most one per large page (" .. spans .. " here).")
        end
        return pass()
      end,
      hints = { "Which allocator needs no new mapping at all?", "kmalloc(size, GFP_KERNEL): up to KMALLOC_MAX_SIZE (4 MiB) it comes from the direct map.",
                ["direct-map"] = { "vmalloc builds a new mapping, page by page. The direct map already covers all of lowmem with large pages.",
                                   "kmalloc(size, GFP_KERNEL): GFP_KERNEL may reclaim and compact, so even a fragmented machine finds the block." },
                size = { "Allocate the size you are asked for, not a size you remember: kmalloc(size, GFP_KERNEL)." } },
    },
  },
}
