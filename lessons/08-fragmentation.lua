-- Lesson 8: fragmentation. Vocabulary: lessons/README.md.

-- /proc/buddyinfo's counts for one zone, parsed by the grader.
local function buddy_counts(zone)
  for line in proc("/proc/buddyinfo"):gmatch("[^\n]+") do
    local name, rest = line:match("^Node %d+, zone%s+(%S+)(.*)$")
    if name == zone then
      local counts = {}
      for n in rest:gmatch("%d+") do counts[#counts + 1] = tonumber(n) end
      return counts
    end
  end
end

-- A fragmented zone's /proc/buddyinfo row for a question: many single
-- pages and pairs, a few order-2 blocks, one large block of order 7 to 9.
-- The kernel prints "Node %d, zone %8s " then "%6lu " per order (mm/vmstat.c).
local function buddy_row(rng)
  local counts = { rng:int(2000, 9000), rng:int(100, 900), rng:int(2, 20), 0, 0, 0, 0, 0, 0, 0, 0 }
  local top = rng:pick{ 7, 8, 9 }
  counts[top + 1] = 1
  local pages, blocks = 0, 0
  local line = string.format("Node 0, zone %8s ", "Normal")
  for order = 0, 10 do
    pages = pages + counts[order + 1] * (1 << order)
    blocks = blocks + counts[order + 1]
    line = line .. string.format("%6d ", counts[order + 1])
  end
  return { counts = counts, top = top, pages = pages, blocks = blocks, line = line:gsub("%s+$", "") }
end

-- The free pages and the largest free order of one zone, as the grader
-- reads them from /proc/buddyinfo.
local function expected(zone)
  local counts = buddy_counts(zone) or {}
  local pages, largest = 0, -1
  for order = 0, #counts - 1 do
    pages = pages + counts[order + 1] * (1 << order)
    if counts[order + 1] > 0 then largest = order end
  end
  return pages, largest
end

-- Every allocation attempt the kernel counted so far, failed ones included.
local function allocation_attempts()
  local s = stats()
  return s.kmallocs + s.page_allocs + s.vmallocs + s.alloc_failures
end

-- Takes every free block of order >= `lowest` that an atomic allocation
-- can get, as a long-running system's kernel allocations would have.
local function use_up_high_orders(lowest)
  for order = MAX_PAGE_ORDER, lowest, -1 do
    while __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order) do end
  end
end

-- The free pages of every zone, from /proc/buddyinfo.
local function free_pages_now()
  local total = 0
  for line in proc("/proc/buddyinfo"):gmatch("[^\n]+") do
    local zone = line:match("^Node %d+, zone%s+(%S+)")
    if zone then total = total + (expected(zone)) end
  end
  return total
end

-- How many chunks the fewest that cover `size` are on this machine: the
-- largest-first strategy run for real, then undone. Freeing the blocks
-- gives the buddy allocator back the same free pages, which it merges into
-- the same free blocks (a set of free pages has one buddy decomposition),
-- so the learner's call starts from exactly the state this measured.
local function fewest_chunks(size)
  local taken, got, order = {}, 0, MAX_PAGE_ORDER
  while got < size and order >= 0 do
    local addr = __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order)
    if addr then
      taken[#taken + 1] = { addr, order }
      got = got + (PAGE_SIZE << order)
    else
      order = order - 1
    end
  end
  for i = #taken, 1, -1 do free_pages(taken[i][1], taken[i][2]) end
  if got < size then error("gather: the machine cannot give " .. size .. " bytes at all") end
  return #taken
end

return lesson{
  id = "08-fragmentation",
  title = "Fragmentation: plenty of free memory, no large block",
  text = [[
# Fragmentation

The buddy allocator keeps free memory in blocks of 2^order pages, one free
list per order and per zone. Freeing a block merges it with its "buddy"
(the neighbouring block of the same size) when that one is free too, so
that large blocks re-form. One long-lived allocation in the middle of a
block prevents the merge forever.

## Reading /proc/buddyinfo

    Node 0, zone   Normal   8008    639      6      0      0      0      0      0      0      1      0

One row per zone; the columns are the number of free blocks of order 0,
1, 2, ... 10. This row says: 8008 single free pages, 639 free pairs,
6 free blocks of 4 pages, nothing from order 3 to 8, one free order-9
block (512 pages, 2 MiB), no order-10 block. Free pages in total:
8008 + 639*2 + 6*4 + 512 = 9822, about 38 MiB -- yet the largest
allocation this zone can satisfy right now is 2 MiB, and after that
one, 16 KiB.

`cat("/proc/buddyinfo")` on a freshly booted kmlab machine shows almost
everything in order-10 blocks. `boot{fragmented=true}` ages the machine
like a server that has run for weeks: page cache, slab pages and user
pages scattered everywhere, the free memory in small pieces.

## High-order allocations fail first

An order-N allocation needs 2^N consecutive free pages. When none is free,
what happens depends on the GFP flags:

* With `__GFP_DIRECT_RECLAIM` (GFP_KERNEL), the allocator may sleep and
  work for it: **reclaim** drops clean page cache and swaps out user pages,
  and **compaction** migrates *movable* pages (user memory, page cache) to
  squeeze free pages together. kmlab counts both in `stats()`
  (`pages_reclaimed`, `compactions`).
* GFP_ATOMIC and GFP_NOWAIT cannot sleep, so they cannot reclaim or
  compact: they take what the free lists hold (GFP_ATOMIC may dip into a
  reserve below the min watermark), or fail. `__GFP_NORETRY` requests
  try one light round of reclaim and compaction, then give up.

Neither reclaim nor compaction can move kernel allocations: a kmalloc
object has its physical address baked into pointers everywhere, so the
pages holding it are unmovable. That is why a kernel that has run for a
long time may never again find 4 MiB of contiguous memory, whatever
MemFree says. What kmlab simplifies: one node, no per-migratetype free
lists and no pageblock stealing; the "fragmented" machine is a fixed,
seeded pattern.

## What a driver does about it

1. Allocate large contiguous buffers early -- at probe or at boot -- and
   keep them, instead of allocating and freeing them for each use.
2. Do not ask for contiguity you do not need: vmalloc for CPU-only data,
   scatter-gather lists for devices that accept them.
3. If it must be contiguous-ish, take the largest blocks that are free and
   fall back to smaller orders (many sound and network drivers do), with
   `__GFP_NOWARN` on the attempts that may fail.
4. Use `__GFP_NORETRY` / `__GFP_RETRY_MAYFAIL` to choose how hard to try.

## Exercises

Start with `kmlab lesson 8 --template > a8.lua`.
]],
  exercises = {
    question{
      id = "free_pages", points = 2,
      explain = "Column N of /proc/buddyinfo counts free blocks of 2^N pages, so the free pages are the sum of count * 2^N.",
      -- Each learner reads their own zone.
      variant = buddy_row,
      prompt = function(v) return "How many free pages does this /proc/buddyinfo line account for?\n    " .. v.line end,
      answer = function(v) return numeric(v.pages) end,
      feedback = function(v)
        return {
          [v.blocks] = "Each count is a number of blocks: an order-1 block is 2 pages, order-2 is 4, order-" .. v.top .. " is " .. (1 << v.top) .. ".",
          [v.pages - (1 << v.top) + 1] = "The order-" .. v.top .. " block is " .. (1 << v.top) .. " pages, not 1.",
          [v.counts[1]] = "That is only the order-0 column; every column counts blocks of 2^order pages.",
        }
      end,
      hints = function(v)
        return { "Column N counts free blocks of 2^N pages.",
                 string.format("%d*1 + %d*2 + %d*4 + 1*%d", v.counts[1], v.counts[2], v.counts[3], 1 << v.top) }
      end,
    },
    question{
      id = "largest", points = 2,
      explain = "One allocation needs one free block: the largest possible now is the highest order with a non-zero count.",
      variant = buddy_row,
      prompt = function(v)
        return "What is the largest physically contiguous allocation this zone can give right now, without reclaim or compaction? (bytes, or e.g. \"64K\")\n    " .. v.line
      end,
      answer = function(v) return numeric(PAGE_SIZE << v.top, { units = true }) end,
      feedback = function(v)
        return {
          [v.pages * PAGE_SIZE] = "That is all the free memory, in pieces. One allocation needs one block.",
          [16384] = "That is the largest after the order-" .. v.top .. " block is gone. Right now there is one order-" .. v.top .. " block.",
          [4194304] = "Order 10 (4 MiB) has a count of 0 here.",
        }
      end,
      hints = function(v) return { "Find the highest order whose count is not 0.", "Order " .. v.top .. " is " .. (1 << v.top) .. " pages of 4 KiB." } end,
    },
    question{
      id = "why", points = 1,
      explain = "kmalloc(1 MiB) needs one order-8 block; a fragmented zone may have many free pages but no such block, and GFP_ATOMIC can neither reclaim nor compact to make one.",
      prompt = "On a long-running machine MemFree shows 50 MB, yet kmalloc(1 MiB, GFP_ATOMIC) fails. Why?",
      answer = choice{
        "MemFree counts the reserves below the min watermark, which a 1 MiB GFP_ATOMIC request may not touch",
        "1 MiB is above KMALLOC_MAX_SIZE, so kmalloc refuses it whatever the state of the free memory",
        "it needs one free order-8 block; free memory is in smaller blocks, and GFP_ATOMIC cannot compact",
        "GFP_ATOMIC allocations are limited to one page, so a 1 MiB request always fails in atomic context",
      correct = 3 },
      feedback = {
        a = "The reserves are a few hundred pages, not 50 MB. What matters is the size of the free blocks.",
        b = "KMALLOC_MAX_SIZE is 4 MiB.",
        d = "GFP_ATOMIC allocations of higher orders exist; they are just more likely to fail.",
      },
      hints = { "kmalloc(1 MiB) takes one block from the buddy allocator: of which order?" },
    },
    task{
      id = "read_buddyinfo", points = 3, expects = "buddy_free", template = "zone",
      explain = "Reading /proc/buddyinfo and weighting each count by 2^order measures the zone without changing it, on any machine.",
      boot = { fragmented = true },
      -- Machines of every shape: both architectures (x86_64 has DMA32 and
      -- no HighMem), both eras, sizes and ages from the grader's secret.
      cases = function(rng)
        local function seed() return rng:int(1, 1 << 30) end
        return {
          { boot = { fragmented = true, seed = seed() }, label = "a fragmented x86_32 machine" },
          { boot = { arch = "x86_64", ram = rng:pick{ "256M", "512M", "2G" }, fragmented = true, seed = seed() }, label = "a fragmented x86_64 machine" },
          { boot = { era = "2.6", ram = rng:pick{ "128M", "256M", "1G" }, seed = seed() }, label = "a 2.6 machine" },
        }
      end,
      prompt = "Write buddy_free(zone): parse proc(\"/proc/buddyinfo\") and return two numbers for the named zone: the total number of free pages, and the largest order with a free block (-1 if none). The grader asks about every zone of a fragmented machine, and the machine keeps changing between the calls; your function only reads.",
      setup = function()
        local zones = {}
        for line in proc("/proc/buddyinfo"):gmatch("[^\n]+") do
          zones[#zones + 1] = line:match("^Node %d+, zone%s+(%S+)")
        end
        return zones
      end,
      -- Each zone is asked twice, with blocks of several orders taken (and
      -- kept) by the grader in between, so the answers change from call to
      -- call. The grader reads /proc/buddyinfo itself right before each
      -- call and compares with that (a function that allocates memory
      -- changes what it reads) and counts the allocations the call tried.
      call = function(buddy_free, zones)
        local asked = {}
        for round = 1, 2 do
          for i, zone in ipairs(zones) do
            if round == 2 or i > 1 then
              for order = 0, 4 do
                __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, (order * 3 + i + round) % 5)
                alloc_pages(GFP_HIGHUSER | __GFP_NOWARN, (order + i * round) % 4)
              end
            end
            local want_pages, want_largest = expected(zone)
            local before = allocation_attempts()
            local pages, largest = buddy_free(zone)
            asked[#asked + 1] = { zone = zone, pages = pages, largest = largest, want_pages = want_pages,
                                  want_largest = want_largest, allocated = allocation_attempts() - before }
          end
        end
        return asked
      end,
      check = function(r)
        local asked = r.returned
        if type(asked) ~= "table" or #asked == 0 then return fail("the grader could not run your function") end
        for _, a in ipairs(asked) do
          local call = "buddy_free(\"" .. tostring(a.zone) .. "\")"
          if a.allocated ~= 0 then
            return fail(call .. " tried " .. a.allocated .. " allocation(s): reading /proc/buddyinfo must not change it. Parse the text and count.", { hint = "read-only" })
          end
          if a.pages ~= a.want_pages then
            return fail(call .. ": the zone had " .. a.want_pages .. " free pages; you returned " .. tostring(a.pages) .. ". Remember each column counts blocks of 2^order pages.")
          end
          if a.largest ~= a.want_largest then
            return fail(call .. ": the largest free order was " .. a.want_largest .. "; you returned " .. tostring(a.largest) .. ". The first column is order 0.")
          end
        end
        return pass()
      end,
      hints = {
        "Find the line with line:match(\"zone%s+(%S+)\") == zone; the numbers after it are the counts for orders 0, 1, 2, ...",
        "pages = pages + count * (1 << order), with order = column - 1",
        ["read-only"] = {
          "buddy_free only reads: no allocation at all. proc(\"/proc/buddyinfo\") returns the text; find the zone's line and add up its columns.",
          "for line in proc(\"/proc/buddyinfo\"):gmatch(\"[^\\n]+\") do ... end, then count * (1 << order) for each column of the zone's line.",
        },
      },
    },
    task{
      id = "gather", points = 3, expects = "gather_pages", template = "size",
      explain = "Starting at the largest order and stepping down only when an allocation fails takes the biggest blocks that exist, so the fewest chunks cover the size; __GFP_NOWARN keeps the expected failures quiet.",
      context = "spinlock",
      prompt = "Write gather_pages(size): in an atomic context (a spinlock is held: use GFP_ATOMIC), collect at least size bytes of memory in as few physically contiguous chunks as the machine allows: try the largest order first and fall back to smaller ones. Return a list of chunks { {addr = ..., order = ...}, ... } (the caller frees them with free_pages). Failed attempts must not print warnings. The grader asks for sizes from a few hundred KiB to several MiB, on fresh machines and on fragmented ones where the large blocks are gone, and counts the chunks the machine's free blocks made necessary.",
      -- Fresh and aged machines, both architectures, the large blocks used
      -- up from an order drawn per case, sizes that are not whole pages:
      -- a fixed order, one page at a time or a size taken from the lesson
      -- text each fails somewhere, and the fewest chunks are what this
      -- machine's free blocks allow (measured in setup).
      cases = function(rng)
        local function seed() return rng:int(1, 1 << 30) end
        local function size(lo_pages, hi_pages) return rng:int(lo_pages, hi_pages) * PAGE_SIZE + rng:int(1, PAGE_SIZE - 1) end
        return {
          { boot = {}, size = size(300, 1000), label = "a fresh x86_32 machine" },
          { boot = { fragmented = true, seed = seed() }, lowest = rng:int(3, 5), size = size(40, 300), label = "a fragmented x86_32 machine" },
          { boot = { arch = "x86_64", ram = rng:pick{ "512M", "1G" }, fragmented = true, seed = seed() }, lowest = rng:int(5, 9), size = size(100, 400), label = "a fragmented x86_64 machine" },
          { boot = { arch = "x86_64" }, size = size(1100, 2500), label = "a fresh x86_64 machine (more than one order-10 block)" },
        }
      end,
      setup = function(case)
        if case.lowest then use_up_high_orders(case.lowest) end
        case.fewest = fewest_chunks(case.size)
        case.free_before = free_pages_now()
        return case.size
      end,
      check = function(r)
        local chunks, size = r.returned, r.args[1]
        if type(chunks) ~= "table" or #chunks == 0 then return fail("gather_pages should return a list of {addr=..., order=...} chunks.") end
        if #r.freed_foreign ~= 0 then
          return fail("gather_pages freed " .. #r.freed_foreign .. " block(s) it did not allocate (the machine's other users'): making room by freeing someone else's memory is a use-after-free waiting to happen.")
        end
        local total, seen, pages = 0, {}, 0
        for i = 1, #chunks do
          local c = chunks[i]
          if type(c) ~= "table" or math.type(c.addr) ~= "integer" or math.type(c.order) ~= "integer" then
            return fail("chunk " .. i .. " should be a table {addr = <address>, order = <order>}.")
          end
          if seen[c.addr] then return fail("chunk " .. i .. " repeats an address.") end
          seen[c.addr] = true
          local ok, page = pcall(virt_to_page, c.addr)
          if not ok or page.owner ~= "pages" or page.order ~= c.order then
            return fail("chunk " .. i .. " is not an order-" .. c.order .. " block from the page allocator.")
          end
          total = total + (PAGE_SIZE << c.order)
          pages = pages + (1 << c.order)
        end
        if total < size then return fail("the chunks add up to " .. total .. " bytes; " .. size .. " were asked for.") end
        local live = r.allocated.n or #r.allocated
        if live ~= #chunks then return fail(live .. " of your allocations are live but you returned " .. #chunks .. " chunks: free what you do not return.") end
        if #chunks > r.case.fewest then
          return fail(#chunks .. " chunks where " .. r.case.fewest .. " were enough on this machine: you took small blocks while larger ones were free. Start at the largest order and step down only when it fails.", { hint = "largest-first" })
        end
        -- Every chunk is one of the call's own allocations (so the grader
        -- may free it), the free pages went exactly into the chunks, and
        -- freeing them, as the caller will, gives every page back.
        -- (r.allocated names at most 256 of them: beyond that, the count
        -- above is all there is to judge.)
        if live > #r.allocated then return pass() end
        local mine = {}
        for _, a in ipairs(r.allocated) do mine[a.address] = true end
        for i = 1, #chunks do
          if not mine[chunks[i].addr] then return fail("chunk " .. i .. " is not a block this call allocated.") end
        end
        local fell = r.case.free_before - free_pages_now()
        if fell ~= pages then return fail("the free pages fell by " .. fell .. " but your chunks hold " .. pages .. ".") end
        for i = 1, #chunks do free_pages(chunks[i].addr, chunks[i].order) end
        if free_pages_now() ~= r.case.free_before then
          return fail("after the caller freed your chunks, " .. (r.case.free_before - free_pages_now()) .. " pages were still missing from the free lists.")
        end
        return pass()
      end,
      hints = {
        "Start with the smallest order whose block holds what remains (PAGE_SIZE << order >= remaining), or MAX_PAGE_ORDER; while the allocation fails, order = order - 1.",
        "__get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order) returns an address or nil.",
        ["largest-first"] = {
          "Do not fix the order in advance: which blocks are free depends on the machine. Ask for MAX_PAGE_ORDER first and step down one order only when an allocation fails.",
          "local order = MAX_PAGE_ORDER; while got < size and order >= 0 do local a = __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order); if a then ... else order = order - 1 end end",
        },
      },
    },
  },
}
