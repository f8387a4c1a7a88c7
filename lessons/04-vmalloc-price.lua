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
and why the kernel batches ("lazily purges") vmalloc TLB flushes. kmlab
simplifies to one CPU and an immediate flush, counted in `tlb_flushes`.

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
kmalloc. kvmalloc picks for you.

## Exercises

Start with `kmlab lesson 4 --template > a4.lua`.
]],
  exercises = {
    question{
      id = "ptes", points = 2,
      prompt = "How many page-table entries does vmalloc(1 MiB) write for its pages?",
      answer = numeric(256),
      feedback = {
        [1] = "One PTE per page, not one per allocation.",
        [257] = "The guard page is reserved but never mapped: no PTE for it.",
        [0] = "That is kmalloc: the direct map is already mapped. vmalloc builds a new mapping.",
        [512] = "1 MiB is 256 pages of 4 KiB.",
      },
      hints = { "One PTE maps one 4 KiB page.", "Measure: stats().ptes_written before and after vmalloc(1 << 20)." },
    },
    question{
      id = "thrash", points = 2,
      prompt = "The TLB holds 64 translations for 4 KiB pages (LRU). A loop reads one byte from each page of a 128-page vmalloc buffer, in order, 4 times over. How many of the 512 reads miss the TLB?",
      answer = choice{ "128: only the first sweep misses", "64: half of the buffer stays cached", "512: every read misses", "0: the buffer is contiguous", correct = 3 },
      feedback = {
        a = "The second sweep would hit only if all 128 translations were still cached; the TLB holds 64, and LRU evicts each one 64 reads before it is needed again.",
        b = "With LRU and a sweep larger than the cache, nothing survives until its next use.",
        d = "Contiguous in virtual space, but each 4 KiB page needs its own translation.",
      },
      hints = { "Follow the TLB after the first 64 reads: which entry does read 65 evict, and when is that page read again?", "Measure it: sweep a vmalloc(128 * PAGE_SIZE) buffer 4 times and compare stats().tlb_misses." },
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
      prompt = "Write tlb_misses_touching(addr, pages): read one byte from each of the pages pages starting at addr, once, and return how many TLB misses that cost (use stats()). It is called for a 16-page kmalloc buffer, then for a 16-page vmalloc buffer.",
      setup = function()
        return kmalloc(16 * PAGE_SIZE, GFP_KERNEL), vmalloc(16 * PAGE_SIZE)
      end,
      call = function(f, k, v) return f(k, 16), f(v, 16) end,
      check = function(r)
        local km, vm = r.results[1], r.results[2]
        if math.type(km) ~= "integer" or math.type(vm) ~= "integer" then
          return fail("tlb_misses_touching should return a number of misses (an integer); got " .. tostring(km) .. " and " .. tostring(vm) .. ".")
        end
        if vm ~= 16 then
          return fail("touching 16 fresh vmalloc pages costs 16 TLB misses (one 4 KiB translation each); you measured " .. vm .. ". Take stats() just before and just after the reads.")
        end
        if km > 1 then
          return fail("the kmalloc buffer is in the direct map, covered by one large-page translation: at most 1 miss; you measured " .. km .. ".")
        end
        return pass()
      end,
      hints = { "local before = stats().tlb_misses; ... peek(addr + i * PAGE_SIZE) ...; return stats().tlb_misses - before", "Read each page once: i = 0 .. pages - 1." },
    },
    task{
      id = "hot_buffer", points = 2, expects = "alloc_hot_buffer", template = "size",
      prompt = "Write alloc_hot_buffer(size): a 256 KiB buffer that the driver's fast path reads on every packet, allocated in process context. Choose the allocation that costs no page-table entries and no TLB pressure. Return its address.",
      setup = function() return 256 * 1024 end,
      check = function(r)
        local p = r.returned
        if math.type(p) ~= "integer" then return fail("alloc_hot_buffer should return an address, got " .. tostring(p) .. ".") end
        if is_vmalloc_addr(p) then
          local written = r.stats_after.ptes_written - r.stats_before.ptes_written
          return fail("a vmalloc buffer: " .. written .. " PTEs written, and 64 TLB entries needed to touch it all. For hot data, kmalloc.")
        end
        if r.stats_after.ptes_written ~= r.stats_before.ptes_written then return fail("your allocation wrote page-table entries.") end
        if ksize(p) < 256 * 1024 then return fail("the buffer is smaller than 256 KiB.") end
        return pass()
      end,
      hints = { "Which allocator needs no new mapping at all?", "kmalloc(size, GFP_KERNEL): 256 KiB is well under KMALLOC_MAX_SIZE." },
    },
  },
}
