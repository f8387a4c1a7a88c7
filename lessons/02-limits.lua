-- Lesson 2: how much kmalloc can give. Vocabulary: lessons/README.md.

local function order_for(n)
  local order = 0
  while (PAGE_SIZE << order) < n do order = order + 1 end
  return order
end

-- The units the limit questions ask in, one per learner.
local LIMIT_UNITS = { { name = "bytes", bytes = 1 }, { name = "KiB", bytes = 1024 }, { name = "pages", bytes = 4096 } }

local function limit_unit_words(unit)
  if unit == "bytes" then return "in bytes (\"4M\" style answers are accepted)" end
  if unit == "KiB" then return "in KiB (a number of KiB: 1 KiB = 1024 bytes)" end
  return "in 4 KiB pages (a number of pages)"
end

-- Answers that give the right size with their unit written out ("4 MiB"
-- when the question asks KiB or pages) are right too.
local function limit_accept(v, bytes)
  if v.unit == "bytes" then return {} end
  local kib, mib = bytes // 1024, bytes // 1048576
  local list = { kib .. "K", kib .. " KiB", kib .. "KiB", kib .. " KB", bytes .. " bytes" }
  if mib > 0 then
    for _, s in ipairs({ mib .. "M", mib .. " MiB", mib .. "MiB", mib .. " MB", mib .. "MB" }) do list[#list + 1] = s end
  end
  return list
end

-- Feedback keyed by sizes in bytes, given in the question's unit; a right
-- size in the wrong unit is named as such.
local function limit_feedback(v, by_bytes, bytes)
  local fb = {}
  for size, text in pairs(by_bytes) do
    if size % v.per == 0 then fb[size // v.per] = text end
  end
  -- The same size given in bytes where the question asks another unit.
  for size, text in pairs(by_bytes) do
    if v.unit ~= "bytes" and fb[size] == nil then fb[size] = text end
  end
  for _, u in ipairs(LIMIT_UNITS) do
    if u.name ~= v.unit then
      fb[bytes // u.bytes] = "That is the right size in " .. (u.name == "bytes" and "bytes" or u.name) .. "; the question asks for it " .. limit_unit_words(v.unit) .. "."
    end
  end
  return fb
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
   (`__kmalloc_large_node` in mm/slub.c). `ksize(p)` is then PAGE_SIZE << order
   and `virt_to_page(p).owner` says `kmalloc-large`.
3. Above KMALLOC_MAX_SIZE = 2^(MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB: there is
   no block that large. kmalloc returns NULL, and the page allocator prints a
   warning with a stack trace (`WARNING: ... at mm/page_alloc.c ...
   __alloc_pages`; a WARN_ON_ONCE, so once per boot) -- unless you passed
   `__GFP_NOWARN`, the flag for "I expect this may fail and I handle it".

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
      -- The unit (and the architecture named) per learner, so that a copied
      -- number is wrong for most neighbours; the limit itself is the same on
      -- x86_32 and x86_64 (4 KiB pages, MAX_PAGE_ORDER 10: include/linux/slab.h
      -- KMALLOC_SHIFT_MAX = MAX_PAGE_ORDER + PAGE_SHIFT).
      variant = function(rng)
        local unit = rng:pick(LIMIT_UNITS)
        return { arch = rng:pick({ "x86_64", "x86_32" }), unit = unit.name, per = unit.bytes, value = 4194304 // unit.bytes }
      end,
      prompt = function(v)
        return "On an " .. v.arch .. " 6.x kernel, what is KMALLOC_MAX_SIZE, " .. limit_unit_words(v.unit) .. "?"
      end,
      answer = function(v) return numeric(v.value, { units = v.unit == "bytes" }) end,
      accept = function(v) return limit_accept(v, 4194304) end,
      feedback = function(v)
        return limit_feedback(v, {
          [131072] = "128 KiB was the limit of early 2.6 kernels with SLAB; today's limit is an order-10 block.",
          [8192] = "8 KiB is KMALLOC_MAX_CACHE_SIZE, the largest size served from a slab cache. Above it kmalloc takes whole pages.",
          [8388608] = "8 MiB would be order 11; the largest order is 10.",
          [4096] = "A page is 4 KiB; kmalloc can give far more than one page.",
        }, 4194304)
      end,
      hints = function(v)
        return { "The largest buddy block is order 10: how many bytes is PAGE_SIZE << 10? Then give it " .. limit_unit_words(v.unit) .. ".",
                 "print(KMALLOC_MAX_SIZE // " .. v.per .. ")" }
      end,
    },
    question{
      id = "order", points = 2,
      -- A size per learner, between 8 KiB and 4 MiB and never a whole
      -- power-of-two number of pages (so that counting pages is wrong).
      -- The order is drawn first, uniformly from 2 to 10, and the size
      -- within it: a size uniform over the bytes would make order 10 the
      -- answer for half of the class.
      variant = function(rng)
        local order = rng:int(2, 10)
        local lo, hi = (4096 << (order - 1)) + 1, math.min(4096 << order, 4000000)
        local n
        repeat n = rng:int(lo, hi) until n % 4096 ~= 0
        local pages = (n + 4095) // 4096
        return { n = n, pages = pages, order = order_for(n) }
      end,
      prompt = function(v)
        return "kmalloc(" .. v.n .. ", GFP_KERNEL) on 6.x is larger than 8 KiB, so it takes a block from the page allocator. Of what order?"
      end,
      answer = function(v) return numeric(v.order) end,
      feedback = function(v)
        local fb = {
          [v.order - 1] = "An order-" .. (v.order - 1) .. " block is " .. (1 << (v.order - 1)) .. " pages = " .. (4 << (v.order - 1)) .. " KiB: too small for " .. v.n .. " bytes.",
          [v.order + 1] = "Order " .. (v.order + 1) .. " is bigger than needed: get_order picks the smallest block that fits.",
          [1 << v.order] = (1 << v.order) .. " pages is the block's size; the order is log2 of that.",
        }
        fb[v.pages] = v.n .. " / 4096 rounds up to " .. v.pages .. " pages, but blocks come in powers of two: the order is log2 of the block's page count."
        return fb
      end,
      hints = function(v)
        return { "Blocks are 2^order pages. Which power of two of 4096-byte pages first holds " .. v.n .. " bytes?",
                 "Try: print(virt_to_page(kmalloc(" .. v.n .. ", GFP_KERNEL)).order)" }
      end,
    },
    question{
      id = "old_limit", points = 1,
      -- The unit per learner, as for max_size (SLAB's largest general
      -- cache, size-131072: include/linux/kmalloc_sizes.h).
      variant = function(rng)
        local unit = rng:pick(LIMIT_UNITS)
        return { unit = unit.name, per = unit.bytes, value = 131072 // unit.bytes }
      end,
      prompt = function(v)
        return "And on an early 2.6 kernel (SLAB), what was the largest kmalloc, " .. limit_unit_words(v.unit) .. "?"
      end,
      answer = function(v) return numeric(v.value, { units = v.unit == "bytes" }) end,
      accept = function(v) return limit_accept(v, 131072) end,
      feedback = function(v)
        return limit_feedback(v, {
          [4194304] = "4 MiB is today's limit. Boot boot{era=\"2.6\"} and print KMALLOC_MAX_SIZE.",
          [4096] = "Even 2.6.0 had caches far larger than a page: size-32 up to size-131072.",
        }, 131072)
      end,
      hints = function(v)
        return { "The largest SLAB cache of 2.6.0 was size-131072.", "boot{era=\"2.6\"} print(KMALLOC_MAX_SIZE // " .. v.per .. ")" }
      end,
    },
    task{
      id = "get_order", points = 2, expects = "get_order", template = "size",
      prompt = "Write get_order(size): the smallest order whose block (PAGE_SIZE << order bytes) holds size bytes, for 1 <= size <= 4 MiB. It is called for many sizes.",
      -- Every order's edges (a block exactly, one byte more, one less) and
      -- sizes nobody can list in advance.
      cases = function(rng)
        local sizes = { 1 }
        for o = 0, 10 do
          local b = 4096 << o
          sizes[#sizes + 1] = b
          if o < 10 then sizes[#sizes + 1] = b + 1 end
          sizes[#sizes + 1] = b - 1
        end
        for _ = 1, 12 do sizes[#sizes + 1] = rng:int(1, 4194304) end
        rng:shuffle(sizes)
        return { { args = { sizes }, label = "get_order of " .. #sizes .. " sizes" } }
      end,
      call = function(f, sizes)
        local out = {}
        for i = 1, #sizes do out[i] = f(sizes[i]) end
        return out
      end,
      check = function(r)
        local sizes = r.case.args[1]
        local got = r.returned
        if type(got) ~= "table" then return fail("get_order returned nothing usable") end
        for i = 1, #sizes do
          local want = order_for(sizes[i])
          if got[i] ~= want then
            local exact = sizes[i] % 4096 == 0 and " (a whole number of pages: the block that holds it exactly is enough)" or ""
            return fail("get_order(" .. sizes[i] .. ") should be " .. want .. ", got " .. tostring(got[i]) .. exact .. ".", { hint = exact ~= "" and "exact" or nil })
          end
        end
        if #r.allocated > 0 then return fail("get_order should not allocate anything; " .. #r.allocated .. " allocation(s) remain.") end
        return pass()
      end,
      hints = { "Start at order 0 and go up while the block is too small.", "while (PAGE_SIZE << order) < size do order = order + 1 end",
                exact = { "A size of exactly PAGE_SIZE << k fits an order-k block: compare with <, not <=." } },
      explain = "Blocks come in powers of two pages, so the order is the base-2 logarithm of the page count, rounded up; at exact powers the block that matches is enough, which is where off-by-one answers go wrong.",
    },
    task{
      id = "big_table", points = 3, expects = "alloc_table", template = "size",
      prompt = "Write alloc_table(size): return memory for a table of size bytes that only the CPU reads. Use kmalloc when the size allows it, and vmalloc beyond KMALLOC_MAX_SIZE; never let the kernel print a warning. It is called with several sizes on 6.x and 2.6 kernels, around each one's limit (the caller frees every table).",
      -- Both eras, and sizes on both sides of each era's KMALLOC_MAX_SIZE:
      -- a remembered threshold is wrong on one of them.
      cases = function(rng)
        return {
          { boot = { era = "6.x" }, small = 4096 * rng:int(1, 31) },
          { boot = { era = "2.6" }, small = 4096 * rng:int(1, 15) },
        }
      end,
      setup = function(case)
        local max = KMALLOC_MAX_SIZE
        case.sizes = { 64 * 1024, case.small, max, max + 1, 2 * max + 4096 * 3 }
        return table.unpack(case.sizes)
      end,
      call = function(f, ...)
        local out = {}
        for i, size in ipairs({ ... }) do out[i] = f(size) end
        return out
      end,
      check = function(r)
        local got, sizes = r.results[1], r.case.sizes
        if type(got) ~= "table" then return fail("the grader could not run alloc_table.") end
        local function show(n)
          if n % (1024 * 1024) == 0 then return (n // (1024 * 1024)) .. " MiB" end
          if n % 1024 == 0 then return (n // 1024) .. " KiB" end
          return n .. " bytes"
        end
        for i, size in ipairs(sizes) do
          local a = got[i]
          if math.type(a) ~= "integer" then
            return fail("alloc_table(" .. size .. ") should return an address; got " .. tostring(a) .. ".")
          end
          if size <= KMALLOC_MAX_SIZE then
            if is_vmalloc_addr(a) then
              return fail(show(size) .. " fits in kmalloc (KMALLOC_MAX_SIZE is " .. show(KMALLOC_MAX_SIZE) .. " here): a vmalloc mapping costs page-table entries and TLB misses for nothing (lesson 4).", { hint = "limit" })
            end
            if ksize(a) < size then return fail("the " .. show(size) .. " table is too small.") end
          elseif not is_vmalloc_addr(a) then
            return fail(show(size) .. " is more than KMALLOC_MAX_SIZE (" .. show(KMALLOC_MAX_SIZE) .. " here): that one must come from vmalloc.", { hint = "limit" })
          end
        end
        if #r.freed_foreign ~= 0 then return fail("the calls freed " .. #r.freed_foreign .. " allocation(s) they did not make.") end
        if #r.allocated ~= #sizes then return fail("after the " .. #sizes .. " calls exactly " .. #sizes .. " tables should be allocated; " .. #r.allocated .. " are.") end
        return pass()
      end,
      hints = {
        "Compare size with KMALLOC_MAX_SIZE before calling kmalloc: a kmalloc that is bound to fail prints a WARNING.",
        "if size <= KMALLOC_MAX_SIZE then return kmalloc(size, GFP_KERNEL) end; return vmalloc(size) -- or kvmalloc(size, GFP_KERNEL)",
        limit = { "The limit is KMALLOC_MAX_SIZE of the running kernel (4 MiB on 6.x, 128 KiB on 2.6), not a number you remember: compare size with it." },
      },
    },
    task{
      id = "probe_limit", points = 2, expects = "probe_limit", template = "",
      prompt = "Write probe_limit(): find, by trying, the largest power-of-two size (PAGE_SIZE or more) kmalloc gives on the machine you run on, free everything, and return it. The machines vary: 6.x and 2.6 kernels, small and aged (fragmented) ones, where the largest free block can be smaller than KMALLOC_MAX_SIZE.",
      -- Fresh machines of both eras, and aged ones where the largest free
      -- block is below KMALLOC_MAX_SIZE: only probing is right on all.
      cases = function(rng)
        return {
          { boot = { era = "2.6" } },
          { boot = { era = "6.x", arch = "x86_64" } },
          { boot = { era = "6.x", ram = "32M", fragmented = true, seed = rng:int(0, 3) } },
          { boot = { era = "2.6", fragmented = true, seed = rng:int(0, 3) } },
        }
      end,
      setup = function(case)
        local size, best = PAGE_SIZE, nil
        while true do
          local p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN)
          if not p then break end
          kfree(p)
          best, size = size, size * 2
        end
        case.want = best
      end,
      check = function(r)
        local want, got = r.case.want, r.returned
        -- A failed try can wake reclaim, so a later probe may find a bigger
        -- block than setup's did: what the learner's probe found counts
        -- when the machine confirms it now (that size works, twice it does not).
        if got ~= want and math.type(got) == "integer" and got >= PAGE_SIZE and got & (got - 1) == 0 then
          local p = kmalloc(got, GFP_KERNEL | __GFP_NOWARN)
          if p then
            kfree(p)
            local q = kmalloc(got * 2, GFP_KERNEL | __GFP_NOWARN)
            if q then kfree(q) else want = got end
          end
        end
        if r.returned ~= want then
          if r.returned == KMALLOC_MAX_SIZE then
            return fail("probe_limit returned KMALLOC_MAX_SIZE (" .. KMALLOC_MAX_SIZE .. "), but on this machine kmalloc gives at most " .. want .. " bytes: the constant is the allocator's limit, not what memory can give now. Probe, don't assume.", { hint = "assume" })
          end
          if r.returned == 4194304 or r.returned == 131072 then
            return fail("probe_limit returned " .. r.returned .. ", a limit you remembered; this machine gives " .. want .. ". Probe, don't assume.", { hint = "assume" })
          end
          return fail("the largest power-of-two kmalloc on this machine is " .. tostring(want) .. " bytes; probe_limit returned " .. tostring(r.returned) .. ".")
        end
        if #r.allocated > 0 then return fail("probe_limit left " .. #r.allocated .. " allocation(s) behind: free each successful probe.", { hint = "leak" }) end
        return pass()
      end,
      hints = { "Try sizes 4096, 8192, 16384, ... until kmalloc returns nil; free each one that worked.", "Pass GFP_KERNEL | __GFP_NOWARN: you expect the last try to fail.",
                assume = { "Ask the machine: kmalloc sizes 4096, 8192, ... until one returns nil; the last that worked is the answer." },
                leak = { "kfree each probe that worked before you try the next size." } },
      explain = "KMALLOC_MAX_SIZE is what the allocator will ever try (order 10 on 6.x, 128 KiB on 2.6); whether it succeeds depends on the free blocks the machine has now. An aged machine's largest free block can be far smaller.",
    },
  },
}
