-- Lesson 2: how much kmalloc can give. Vocabulary: lessons/README.md.

local function order_for(n)
  local order = 0
  while (PAGE_SIZE << order) < n do order = order + 1 end
  return order
end

return lesson{
  id = "02-limits",
  title = "Limits: KMALLOC_MAX_SIZE, page orders and the page allocator",
  text = [[
# How much can kmalloc give?

Lesson 1 used small objects from the slab caches. This lesson follows a
request as it grows, until kmalloc says no.

## Pages and orders

Underneath every allocator sits the page allocator (the "buddy allocator").
It deals in blocks of 2^order contiguous pages: order 0 is one 4 KiB page,
order 1 two pages (8 KiB), order 2 four pages (16 KiB), ... up to order 10:
1024 pages, 4 MiB on x86 (MAX_PAGE_ORDER = 10 since 6.8; before 6.4 the same
limit was spelled MAX_ORDER = 11, one past the largest order).

    local page = alloc_pages(GFP_KERNEL, 3)   -- 8 contiguous pages
    print(page, page_address(page))
    __free_pages(page, 3)                      -- free with the same order

The kernel's `get_order(size)` gives the smallest order whose block holds
`size` bytes: get_order(4096) = 0, get_order(4097) = 1, get_order(100000) = 5
(32 pages, 128 KiB). A block is always a power of two pages, so a request
just above a power of two wastes almost half of its block.

## Three ranges of kmalloc (SLUB, 6.x)

1. Up to KMALLOC_MAX_CACHE_SIZE (8 KiB, two pages): an object from a
   kmalloc-N slab cache (lesson 1).
2. Above 8 KiB and up to KMALLOC_MAX_SIZE: kmalloc skips the caches and
   asks the page allocator for a block of order get_order(size)
   (`__kmalloc_large` in mm/slub.c). `ksize(p)` is then PAGE_SIZE << order
   and `virt_to_page(p).owner` says `kmalloc-large`.
3. Above KMALLOC_MAX_SIZE = 2^(MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB: there is
   no block that large. kmalloc returns NULL, and the page allocator prints a
   warning with a stack trace (`WARNING: ... at mm/page_alloc.c ...
   __alloc_pages`) -- unless you passed `__GFP_NOWARN`, the flag for "I
   expect this may fail and I handle it".

Try it:

    print(ksize(kmalloc(12288, GFP_KERNEL)))       --> 16384 (order 2)
    print(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL)) --> nil, and a WARNING
    print(dmesg())

## It was not always 4 MiB

In early 2.6 kernels (the SLAB allocator), kmalloc had only caches:
size-32, size-64, size-128, ... size-131072 (include/linux/kmalloc_sizes.h).
The largest kmalloc was 128 KiB; a larger request found no cache and got
NULL. From 2.6.22 the limit grew to 2^min(MAX_ORDER + PAGE_SHIFT - 1, 25),
which is 4 MiB on x86. Old driver code and old books that say "kmalloc is
limited to 128 KiB" are describing that era. kmlab boots either:

    boot{era = "2.6"}
    print(KMALLOC_MAX_SIZE)                  --> 131072
    print(kmalloc(131073, GFP_KERNEL))       --> nil

Code that needs to know the limit reads KMALLOC_MAX_SIZE; it does not
hard-code a number that changed across kernel versions.

## When you need more: vmalloc and kvmalloc

A large buffer that only the CPU touches does not need physically
contiguous pages. `vmalloc(size)` maps separate pages at consecutive
virtual addresses (lessons 3 and 4 show the price). `kvmalloc(size, flags)`
tries kmalloc first, quietly, and falls back to vmalloc; free with `kvfree`.
What kmlab simplifies: the real kvmalloc also skips kmalloc for large sizes
when that would cost heavy reclaim; kmlab models only the fallback.

## Exercises

Start with `kmlab lesson 2 --template > a2.lua`.
]],
  exercises = {
    question{
      id = "max_size", points = 2,
      prompt = "On an x86 6.x kernel, what is KMALLOC_MAX_SIZE? (bytes; \"4M\" style answers are accepted)",
      answer = numeric(4194304, { units = true }),
      feedback = {
        [131072] = "128 KiB was the limit of early 2.6 kernels with SLAB; today's limit is an order-10 block.",
        [8192] = "8 KiB is KMALLOC_MAX_CACHE_SIZE, the largest size served from a slab cache. Above it kmalloc takes whole pages.",
        [8388608] = "8 MiB would be order 11; the largest order is 10.",
        [4096] = "A page is 4 KiB; kmalloc can give far more than one page.",
      },
      hints = { "The largest buddy block is order 10: how many bytes is PAGE_SIZE << 10?", "print(KMALLOC_MAX_SIZE)" },
    },
    question{
      id = "order", points = 2,
      prompt = "kmalloc(100000, GFP_KERNEL) on 6.x is larger than 8 KiB, so it takes a block from the page allocator. Of what order?",
      answer = numeric(5),
      feedback = {
        [4] = "An order-4 block is 16 pages = 64 KiB: too small for 100000 bytes.",
        [25] = "100000 / 4096 rounds up to 25 pages, but blocks come in powers of two: the order is log2 of the block's page count.",
        [32] = "32 pages is the block's size; the order is log2 of that.",
        [6] = "Order 6 (256 KiB) is bigger than needed: get_order picks the smallest block that fits.",
      },
      hints = { "Blocks are 2^order pages. Which power of two of 4096-byte pages first holds 100000 bytes?", "Try: print(virt_to_page(kmalloc(100000, GFP_KERNEL)).order)" },
    },
    question{
      id = "old_limit", points = 1,
      prompt = "And on an early 2.6 kernel (SLAB), what was the largest kmalloc? (bytes or \"128K\")",
      answer = numeric(131072, { units = true }),
      feedback = {
        [4194304] = "4 MiB is today's limit. Boot boot{era=\"2.6\"} and print KMALLOC_MAX_SIZE.",
        [4096] = "Even 2.6.0 had caches far larger than a page: size-32 up to size-131072.",
      },
      hints = { "The largest SLAB cache of 2.6.0 was size-131072.", "boot{era=\"2.6\"} print(KMALLOC_MAX_SIZE)" },
    },
    task{
      id = "get_order", points = 2, expects = "get_order", template = "size",
      prompt = "Write get_order(size): the smallest order whose block (PAGE_SIZE << order bytes) holds size bytes, for 1 <= size <= 4 MiB.",
      setup = function() return { 1, 4096, 4097, 8192, 8193, 100000, 1048576, 4194304 } end,
      call = function(f, sizes)
        local out = {}
        for i = 1, #sizes do out[i] = f(sizes[i]) end
        return out
      end,
      check = function(r)
        local sizes = r.args[1]
        local got = r.returned
        if type(got) ~= "table" then return fail("get_order returned nothing usable") end
        for i = 1, #sizes do
          local want = order_for(sizes[i])
          if got[i] ~= want then
            return fail("get_order(" .. sizes[i] .. ") should be " .. want .. ", got " .. tostring(got[i]) .. ".")
          end
        end
        return pass()
      end,
      hints = { "Start at order 0 and go up while the block is too small.", "while (PAGE_SIZE << order) < size do order = order + 1 end" },
    },
    task{
      id = "big_table", points = 3, expects = "alloc_table", template = "size",
      prompt = "Write alloc_table(size): return memory for a table of size bytes that only the CPU reads. Use kmalloc when the size allows it, and vmalloc beyond KMALLOC_MAX_SIZE; never let the kernel print a warning. It is called with 64 KiB and then with 6 MiB (the caller frees both).",
      setup = function() return 64 * 1024, 6 * 1024 * 1024 end,
      call = function(f, small, large) return f(small), f(large) end,
      check = function(r)
        local a, b = r.results[1], r.results[2]
        if math.type(a) ~= "integer" or math.type(b) ~= "integer" then
          return fail("alloc_table should return an address both times; got " .. tostring(a) .. " and " .. tostring(b) .. ".")
        end
        if is_vmalloc_addr(a) then return fail("64 KiB fits in kmalloc: a vmalloc mapping costs page-table entries and TLB misses for nothing (lesson 4).") end
        if not is_vmalloc_addr(b) then return fail("6 MiB is more than KMALLOC_MAX_SIZE: that one must come from vmalloc.") end
        if ksize(a) < 64 * 1024 then return fail("the 64 KiB table is too small") end
        if r.leaked ~= 2 then return fail("after the two calls exactly two tables should be allocated; " .. r.leaked .. " are.") end
        return pass()
      end,
      hints = {
        "Compare size with KMALLOC_MAX_SIZE before calling kmalloc: a kmalloc that is bound to fail prints a WARNING.",
        "if size <= KMALLOC_MAX_SIZE then return kmalloc(size, GFP_KERNEL) end; return vmalloc(size) -- or kvmalloc(size, GFP_KERNEL)",
      },
    },
    task{
      id = "probe_limit", points = 2, expects = "probe_limit", template = "",
      boot = { era = "2.6" },
      prompt = "Write probe_limit(): find, by trying, the largest power-of-two size kmalloc gives on the machine you run on, free everything, and return it. This task's machine runs a 2.6 kernel.",
      check = function(r)
        if r.returned == 4194304 then return fail("4 MiB is today's limit; this machine runs 2.6. Probe, don't assume.") end
        if r.returned ~= 131072 then return fail("the largest kmalloc on this 2.6 machine is 131072 bytes; probe_limit returned " .. tostring(r.returned) .. ".") end
        if r.leaked > 0 then return fail("probe_limit left " .. r.leaked .. " allocation(s) behind: free each successful probe.") end
        return pass()
      end,
      hints = { "Try sizes 4096, 8192, 16384, ... until kmalloc returns nil; free each one that worked.", "Pass GFP_KERNEL | __GFP_NOWARN: you expect the last try to fail." },
    },
  },
}
