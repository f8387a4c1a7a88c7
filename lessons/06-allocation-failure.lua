-- Lesson 6: when allocation fails in an interrupt handler. Vocabulary: lessons/README.md.

local IRQ = 12
local PKT = 1000          -- bytes per packet
local BUF = 2048          -- bytes per pool buffer
local POOL = 8            -- buffers in the pool at probe
local LOW = 4             -- refill when fewer are free

-- Memory pressure: takes every page GFP_KERNEL can get (reclaiming the page
-- cache; __GFP_NORETRY, or the OOM killer would run instead of a NULL),
-- then every page GFP_ATOMIC can get (the reserves), then gives `keep`
-- pages back. Returns the hog's pages, to release the pressure later.
local function squeeze(keep)
  local hog = {}
  for _, gfp in ipairs({ GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN, GFP_ATOMIC | __GFP_NOWARN }) do
    while true do
      local p = __get_free_pages(gfp, 0)
      if not p then break end
      hog[#hog + 1] = p
    end
  end
  for _ = 1, keep do free_page(table.remove(hog)) end
  return hog
end

local function release(hog)
  for i = 1, #hog do free_page(hog[i]) end
  return #hog
end

-- Fault injection, as lib/fault-inject.c does it: the nth kmalloc from now
-- on fails, once (failslab: interval n, times 1, GFP_KERNEL too, quietly).
local function fail_nth_kmalloc(nth)
  local dir = "/sys/kernel/debug/failslab/"
  write(dir .. "ignore-gfp-wait", "N")   -- the default (Y) spares GFP_KERNEL
  write(dir .. "verbose", "0")
  write(dir .. "times", "1")
  write(dir .. "interval", tostring(nth))
  write(dir .. "probability", "100")
end

-- Whether the injected failure happened (times went from 1 to 0); stops injecting.
local function kmalloc_fault_fired()
  local fired = proc("/sys/kernel/debug/failslab/times") == "0\n"
  write("/sys/kernel/debug/failslab/probability", "0")
  return fired
end

-- The grader's allocations the learner's code freed: r.freed_foreign less
-- the hog's pages, which the grader itself releases during the call.
local function freed_by_learner(r, hog)
  local mine = {}
  if type(hog) == "table" then for i = 1, #hog do mine[hog[i]] = true end end
  local n = 0
  for _, f in ipairs(r.freed_foreign) do
    if not mine[f.address] then n = n + 1 end
  end
  return n
end

local function packet(i)
  return string.format("packet %03d ", i) .. string.rep(string.char(65 + i % 26), PKT - 11)
end

-- Every allocation attempt the kernel counted so far (kmalloc, the page
-- allocator, vmalloc, and the attempts that failed): the grader compares it
-- around the learner's handler to see whether the handler allocated.
local function allocation_attempts()
  local s = stats()
  return s.kmallocs + s.page_allocs + s.vmallocs + s.alloc_failures
end

-- How many buffers the learner's pool.free list holds, read raw (the list
-- is the learner's table: a metatable on it must not change the count).
local function free_count(pool)
  local free = type(pool) == "table" and rawget(pool, "free")
  if type(free) ~= "table" then return -1 end
  return rawlen(free)
end

-- __zone_watermark_ok() (mm/page_alloc.c) for GFP_ATOMIC: ALLOC_MIN_RESERVE
-- halves min, ALLOC_NON_BLOCK then takes a quarter off what is left.
local function atomic_mark(min)
  min = min - min // 2
  return min - min // 4
end

local function bytes_at(addr, n)
  if math.type(addr) ~= "integer" then return nil end
  local ok, s = pcall(peek, addr, n)
  if ok then return s end
  return nil
end

-- The pool task's case with a failing kmalloc in the first refill: the
-- numbers depend on how the refill reacts (stop, or skip that buffer), so
-- what is judged is what must hold for any correct driver: no crash (the
-- verdict would be a bug), every received packet intact and in order, every
-- packet counted once, the pool full again after the last refill, and every
-- allocation of the learner's that is still live in the pool.
local function judge_recovery(r, pool, watch)
  if watch.fired ~= true then return fail("the grader's failing kmalloc never came: did your work item refill the pool with kmalloc?") end
  local last = 0
  for j, e in ipairs(pool.rx) do
    local i = type(e) == "table" and type(e.buf) == "number" and tonumber((bytes_at(e.buf, 11) or ""):match("^packet (%d+)")) or nil
    if not i or i <= last or e.len ~= PKT or bytes_at(e.buf, PKT) ~= packet(i) then
      return fail("pool.rx[" .. j .. "] should be {buf = a buffer holding the next packet that got through, len = " .. PKT .. "}.")
    end
    last = i
  end
  if math.type(pool.dropped) ~= "integer" or pool.dropped + #pool.rx ~= 18 then
    return fail("18 packets came: each is either in pool.rx or counted in pool.dropped, but " .. #pool.rx .. " + " .. tostring(pool.dropped) .. " ~= 18.")
  end
  if #pool.free ~= POOL then
    return fail("after the refill that failed, the next one must fill the pool again: " .. #pool.free .. " buffers are free at the end instead of 8 (schedule the refill whenever fewer than pool.low are free, and let it skip or stop at a failed kmalloc).", { hint = "defer" })
  end
  if freed_by_learner(r, r.args[2]) ~= 0 then return fail("rx_packet or its work freed allocation(s) it did not make (the probe's buffers).") end
  if #r.allocated ~= #pool.free + #pool.rx - POOL then
    return fail(#r.allocated .. " allocation(s) of your refills are live, but the pool holds " .. (#pool.free + #pool.rx - POOL) .. " of them: a refill that gives up must not lose what it allocated.")
  end
  return pass()
end

return lesson{
  id = "06-allocation-failure",
  title = "When allocation fails: strategies for interrupt handlers",
  text = [[
# When allocation fails

An interrupt handler may not sleep (lesson 5), so it cannot wait for the
kernel to reclaim memory. Under memory pressure its allocations fail. A
driver that crashes, or loses its receive ring, when that happens is a
driver that takes the machine down on a busy day. This lesson is about the
ways real drivers stay up.

## Watermarks and the reserves

Each zone has three watermarks, in pages (`cat("/proc/zoneinfo")`: `min`,
`low`, `high`). When free memory falls below `low`, allocations wake
kswapd, which reclaims in the background until the zone is above `high`.
An ordinary allocation is refused once free memory would fall to `min`;
a sleeping one (GFP_KERNEL) then reclaims directly and waits.

The pages below `min` are a reserve for those who cannot wait. In 6.x
(`__zone_watermark_ok()` in mm/page_alloc.c):

- `__GFP_HIGH` (in `GFP_ATOMIC`) lowers the mark by half: min - min/2;
- a non-blocking allocation that may use reserves (`ALLOC_NON_BLOCK`:
  GFP_ATOMIC again) takes another quarter off what is left.

So a GFP_ATOMIC allocation succeeds down to 3/8 of `min`, while
`GFP_NOWAIT` stops at `min` itself. (A 2.6 kernel had the same two steps
under the names ALLOC_HIGH and ALLOC_HARDER.) The reserve is small -- on
kmlab's 64 MiB machine the Normal zone's min watermark is 165 pages, of
which GFP_ATOMIC may use about a hundred -- and shared by every driver in
the system: GFP_ATOMIC makes failure rarer, never impossible. Every atomic
allocation needs a plan for NULL; pass `__GFP_NOWARN` when you have one,
so a busy day does not fill the log with allocation-failure warnings.

## The strategies

**Preallocate.** Whatever the handler needs for sure, allocate at probe
time, in process context, with GFP_KERNEL: the receive ring and its
buffers exist before the first interrupt. A network driver's RX ring is
exactly this: the handler *swaps* a full buffer for an empty one.

**Keep a pool.** Preallocate spares and take them in the handler
without calling the allocator at all. The kernel's `mempool` (mempool_create,
mempool_alloc) does this for the block layer: a minimum number of elements
guaranteed to exist, so that writing out dirty pages -- which is how memory
gets freed -- can always make progress. (Here a Lua list of buffers
plays the pool, so that you build the mechanism; lesson 12 uses the real
mempool_create_slab_pool.)

**Defer.** The handler does only what must be done now; the rest moves to
process context. `schedule_work(fn)` queues fn for a kworker, where
GFP_KERNEL is fine: refill the pool there, before it runs dry.

**Drop gracefully.** When there is no buffer, the packet is lost -- and
that is acceptable: networks drop packets, TCP retransmits. The handler
counts the drop (`rx_dropped` in `ip -s link`), leaves the ring intact
(the old buffer stays in its slot, to be reused), acknowledges the
interrupt and returns IRQ_HANDLED. What it must not do:

- retry in a loop: with interrupts off on this CPU nothing on it can free
  memory; the loop spins until the watchdog fires;
- fall back to GFP_KERNEL: the sleeping-in-atomic BUG of lesson 5;
- return IRQ_NONE: that means "not my device"; after enough of them the
  kernel disables the line ("irq N: nobody cared");
- use the NULL pointer anyway: an Oops in interrupt context is a panic.

## Making pressure in kmlab

    boot{ram = "64M"}
    local hog = {}
    while true do                     -- take everything GFP_KERNEL can get
      local p = __get_free_pages(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN, 0)
      if not p then break end
      hog[#hog + 1] = p
    end
    print(kmalloc(1000, GFP_NOWAIT))  --> nil: at the min watermark
    print(kmalloc(1000, GFP_ATOMIC))  --> an address: the reserves

Why `__GFP_NORETRY`: a small GFP_KERNEL allocation (order 3 or less) does
not return NULL when reclaim finds nothing. The kernel calls the OOM
killer (mm/page_alloc.c `__alloc_pages_may_oom`): "insmod invoked
oom-killer", a table of the user processes, "Out of memory: Killed
process ..." for the one using the most memory, whose pages it frees
before trying again; with no process left to kill it panics ("System is
deadlocked on memory"). `__GFP_NORETRY` (and `__GFP_RETRY_MAYFAIL`) ask for
NULL instead. Try it: `user.spawn("hog")` gives you a process to lose.

The tasks below run under such pressure. (Simplification: kmlab has one
CPU and no per-cpu page lists, and its reclaim is deterministic.)
]],
  exercises = {
    question{
      id = "reserves", points = 1,
      explain = "Each zone keeps pages below its min watermark for callers that cannot wait; __GFP_HIGH (part of GFP_ATOMIC) lowers the mark so an interrupt handler can still get memory when GFP_NOWAIT is refused.",
      prompt = "Under memory pressure, kmalloc(1000, GFP_NOWAIT) returns NULL but kmalloc(1000, GFP_ATOMIC) succeeds. Why?",
      answer = choice{
        "__GFP_HIGH in GFP_ATOMIC lets it go below the zone's min watermark, into the reserves",
        "GFP_ATOMIC waits with interrupts off until kswapd has freed a few pages, then retries",
        "GFP_ATOMIC reclaims clean page-cache pages itself, without sleeping, before it gives up",
        "GFP_ATOMIC takes its pages from an emergency zone of its own that GFP_NOWAIT cannot use",
      correct = 1 },
      feedback = {
        b = "GFP_ATOMIC never sleeps: that is the point of it. Nor does it wait for kswapd: it returns at once, with memory or NULL.",
        c = "Direct reclaim needs __GFP_DIRECT_RECLAIM, which GFP_ATOMIC does not have; it can only wake kswapd.",
        d = "There is no atomic zone; there is a reserve below each zone's min watermark.",
      },
      hints = { "Look at the watermarks in cat(\"/proc/zoneinfo\"): which flag lets an allocation go below min?" },
    },
    question{
      id = "watermark", points = 1,
      explain = "The kernel's __zone_watermark_ok() (mm/page_alloc.c) halves min for __GFP_HIGH and then takes a quarter off what is left for a non-blocking allocation: min - min/2, then minus a quarter of that.",
      -- Each learner gets their own zone: the min watermark (a multiple of
      -- 4 pages, so that every step of the arithmetic is exact).
      variant = function(rng) return { min = 4 * rng:int(20, 150) } end,
      prompt = function(v)
        return "A zone's min watermark is " .. v.min .. " pages. Ignoring lowmem_reserve, an order-0 GFP_ATOMIC allocation in 6.x succeeds as long as the zone has more than how many free pages?"
      end,
      answer = function(v) return numeric(atomic_mark(v.min)) end,
      feedback = function(v)
        local half = v.min - v.min // 2
        return {
          [v.min] = v.min .. " is where GFP_NOWAIT stops; GFP_ATOMIC may go lower.",
          [half] = "That is __GFP_HIGH's half; GFP_ATOMIC is also non-blocking, which takes another quarter off what is left.",
          [v.min - v.min // 2 - v.min // 4] = "The quarter is taken from what is left after halving (" .. half .. "), not from min.",
          [0] = "Even GFP_ATOMIC keeps part of the reserve: only __GFP_MEMALLOC (memory reclaim itself) ignores the watermarks.",
        }
      end,
      hints = function(v)
        local half = v.min - v.min // 2
        return { "min - min/2, then minus a quarter of the result.", string.format("%d - %d = %d; %d - %d = ?", v.min, v.min // 2, half, half, half // 4) }
      end,
    },
    question{
      id = "on_null", points = 2,
      explain = "A handler cannot wait for memory, so it keeps the ring intact and loses one packet; the refill moves to process context, and IRQ_HANDLED tells the kernel the interrupt was ours.",
      prompt = "In a network card's receive interrupt handler, kmalloc(2048, GFP_ATOMIC) for the replacement buffer returned NULL. What should the handler do?",
      answer = choice{
        "keep calling kmalloc(2048, GFP_ATOMIC) in a loop until it succeeds: other CPUs free memory all the time",
        "retry with GFP_KERNEL, which may reclaim memory and so succeeds where GFP_ATOMIC gave up, then go on",
        "drop the packet: keep the old buffer in its slot, count the drop, schedule a refill; IRQ_HANDLED",
        "return IRQ_NONE, so that the interrupt controller raises the interrupt again once memory is freed",
      correct = 3 },
      feedback = {
        a = "With interrupts off on this CPU nothing can free memory for you: the loop spins until the watchdog reports a lockup.",
        b = "GFP_KERNEL can sleep; an interrupt handler cannot (the sleeping-in-atomic BUG).",
        d = "IRQ_NONE means 'not my device'. Enough of them and the kernel disables the line: 'irq N: nobody cared'.",
      },
      hints = { "Networks lose packets all the time; a ring without buffers is much worse." },
    },
    task{
      id = "atomic_copy", points = 3, expects = "copy_packet", template = "data",
      explain = "GFP_ATOMIC may use part of the reserves below min, so it succeeds where GFP_NOWAIT fails; checking for NULL and passing __GFP_NOWARN makes failure an expected, quiet outcome.",
      allow_reports = { "allocation-failure", "warning" },
      prompt = "Write copy_packet(data): called from a network card's interrupt handler for each received packet (a 1000-byte string), it returns a kmalloc'ed copy of the packet, or nil when there is no memory (the packet is dropped). The grader sends 40 packets while the machine is under heavy memory pressure: the packets matter, so use the reserves -- get as many copies as the kernel can give an interrupt handler, and never crash. It also sends 40 packets with memory to spare while one of the kmallocs fails (fault injection): every other packet must still be copied.",
      boot = { ram = "64M" },
      -- Under pressure the failures come at the end, when the reserves run
      -- out; a single injected failure early or in the middle of a run
      -- tells a handler that copes with NULL from one that gives up for
      -- good after the first one.
      cases = function(rng)
        return {
          { pressure = true, label = "40 packets under heavy memory pressure" },
          { fault = rng:int(1, 8), label = "40 packets with memory to spare, one kmalloc failing early (failslab)" },
          { fault = rng:int(9, 36), label = "40 packets with memory to spare, one kmalloc failing (failslab)" },
        }
      end,
      setup = function(case)
        if case.pressure then return squeeze(5), case end
        return {}, case
      end,
      call = function(copy_packet, hog, case)
        local got = { n = 0 }
        request_irq(IRQ, function()
          got.n = got.n + 1
          got[got.n] = copy_packet(packet(got.n))
          return IRQ_HANDLED
        end, 0, "lesson6-nic", nil)
        if case.fault then fail_nth_kmalloc(case.fault) end
        for _ = 1, 40 do raise_irq(IRQ) end
        local fired = case.fault and kmalloc_fault_fired()
        free_irq(IRQ, nil)
        return got, release(hog), fired
      end,
      check = function(r)
        local got, freed, fired = r.results[1], r.results[2], r.results[3]
        if type(got) ~= "table" or got.n ~= 40 then return fail("the handler should have run 40 times.") end
        local copies, dropped = 0, {}
        for i = 1, 40 do
          local p = got[i]
          if p ~= nil then
            if bytes_at(p, PKT) ~= packet(i) then return fail("packet " .. i .. ": the returned address does not hold a copy of the packet.") end
            copies = copies + 1
          else
            dropped[#dropped + 1] = i
          end
        end
        if freed_by_learner(r, r.args[1]) ~= 0 then return fail("copy_packet freed memory it does not own.") end
        if #r.allocated ~= copies then
          return fail("one allocation per copied packet should remain, and nothing else: " .. #r.allocated .. " allocation(s) for " .. copies .. " copies.")
        end
        if r.case.fault then
          if copies < 39 then
            return fail("with memory to spare and at most one kmalloc failing, " .. #dropped .. " packets were dropped (packets " .. table.concat(dropped, ", ", 1, math.min(#dropped, 8)) .. (#dropped > 8 and ", ..." or "") .. "): a failed allocation loses that one packet; the next packet's kmalloc may well succeed, so try again for every packet.", { hint = "each-packet" })
          end
          if fired ~= true then return fail("the grader's failing kmalloc never came: copy_packet should kmalloc the copy.") end
          return pass()
        end
        if copies == 0 then return fail("no packet was copied: under pressure an allocation that cannot use the reserves (GFP_NOWAIT) fails; GFP_ATOMIC may go below the min watermark.") end
        if copies < 20 then return fail("only " .. copies .. " of 40 packets were copied; the reserves allow 20 here.") end
        return pass(copies .. " of 40 packets copied; the rest dropped without a crash.")
      end,
      hints = {
        "kmalloc can return nil here: return nil then, do not touch the pointer.",
        "local p = kmalloc(#data, GFP_ATOMIC | __GFP_NOWARN); if not p then return nil end; poke(p, data); return p",
        ["each-packet"] = {
          "A failed allocation is about this packet only: memory comes back (other drivers free theirs, kswapd reclaims). Do not remember the failure; call kmalloc again for the next packet.",
          "copy_packet keeps no state: local p = kmalloc(#data, GFP_ATOMIC | __GFP_NOWARN); if not p then return nil end ...",
        },
      },
    },
    task{
      id = "pool", points = 4, expects = "rx_packet", template = "pool, data",
      explain = "The handler only moves preallocated buffers and never calls the allocator; schedule_work defers the refill to a kworker, which runs with interrupts enabled and may sleep, so GFP_KERNEL can reclaim.",
      boot = { ram = "64M" },
      prompt = "Write rx_packet(pool, data), called from an interrupt handler for each received packet (a 1000-byte string). pool.free is a list of preallocated 2048-byte buffers (8 at probe). Take a buffer from pool.free (table.remove), copy the packet into it and append {buf = address, len = #data} to pool.rx. If pool.free is empty, drop the packet: add 1 to pool.dropped. Do not allocate in the handler: memory is exhausted. Whenever fewer than pool.low (4) buffers remain free, schedule work (schedule_work) that refills pool.free with kmalloc'ed 2048-byte buffers up to pool.size (8), in process context. Return IRQ_HANDLED. The grader sends a burst of 12 packets under total memory pressure, lets the pressure ease, lets the work run, then sends 6 more and lets the work run again. In a second case one kmalloc of the first refill fails (fault injection): the pool must recover by the end, with nothing leaked.",
      cases = function(rng)
        return {
          { label = "a burst, a refill, a second burst" },
          -- Not the first kmalloc: a refill that fails later has buffers in hand.
          { fault = rng:int(2, POOL), label = "the same with one kmalloc of the first refill failing (failslab)" },
        }
      end,
      setup = function(case)
        local pool = { free = {}, rx = {}, dropped = 0, size = POOL, low = LOW }
        for i = 1, POOL do pool.free[i] = kmalloc(BUF, GFP_KERNEL) end
        return pool, squeeze(0), case
      end,
      -- What the grader watches besides the pool: how many allocations the
      -- handler itself attempted (it must attempt none: the refill belongs
      -- in a work item), and how many buffers were free when each burst had
      -- been handled (before any work ran): a pool that grows inside the
      -- handler was refilled in interrupt context.
      call = function(rx_packet, pool, hog, case)
        local n, rets, watch = 0, {}, { in_handler = 0 }
        request_irq(IRQ, function()
          n = n + 1
          local before = allocation_attempts()
          rets[n] = rx_packet(pool, packet(n))
          watch.in_handler = watch.in_handler + (allocation_attempts() - before)
          return IRQ_HANDLED
        end, 0, "lesson6-pool", nil)
        for _ = 1, 12 do raise_irq(IRQ) end
        local freed = release(hog)
        if case.fault then fail_nth_kmalloc(case.fault) end
        flush_scheduled_work()
        if case.fault then watch.fired = kmalloc_fault_fired() end
        watch.after_first_work = free_count(pool)
        for _ = 1, 6 do raise_irq(IRQ) end
        watch.after_second_burst = free_count(pool)
        flush_scheduled_work()          -- the second burst left 2 free: the refill runs again
        free_irq(IRQ, nil)
        return pool, rets, freed, watch
      end,
      check = function(r)
        local pool, rets, freed, watch = r.results[1], r.results[2], r.results[3], r.results[4]
        if type(pool) ~= "table" or type(pool.rx) ~= "table" or type(pool.free) ~= "table" then return fail("pool.rx and pool.free should still be lists.") end
        for i = 1, 18 do
          if rets[i] ~= IRQ_HANDLED then return fail("rx_packet should return IRQ_HANDLED for every packet (packet " .. i .. ": " .. tostring(rets[i]) .. ").") end
        end
        if type(watch) ~= "table" then return fail("the grader could not run your function") end
        if watch.in_handler ~= 0 then
          return fail("rx_packet tried to allocate memory " .. watch.in_handler .. " time(s) while it ran in the interrupt handler: even GFP_ATOMIC there drains the reserves every other driver needs, and fails under pressure. Leave the refill to a work item (schedule_work), which runs later in process context.", { hint = "defer" })
        end
        if r.case.fault then return judge_recovery(r, pool, watch) end
        if watch.after_second_burst ~= 2 then
          return fail("after the second burst of 6 packets, before any work ran, pool.free held " .. tostring(watch.after_second_burst) .. " buffers instead of 2: the handler must only take buffers; the refill runs in the work item, after the handler returned.", { hint = "defer" })
        end
        if math.type(pool.dropped) == "integer" and pool.dropped > 4 then
          return fail("packets of the second burst were dropped (pool.dropped is " .. pool.dropped .. "): the pool was not refilled before it came. Schedule work that kmallocs new buffers with GFP_KERNEL: it runs in process context, once the pressure has eased.")
        end
        if pool.dropped ~= 4 then return fail("8 buffers for a burst of 12 packets: 4 should have been dropped, pool.dropped is " .. tostring(pool.dropped) .. ".") end
        if #pool.rx ~= 14 then
          if #pool.rx == 8 then return fail("the second burst found no buffers: the pool was not refilled. Schedule work that kmallocs new buffers with GFP_KERNEL.") end
          return fail("14 packets (8 + 6) should be in pool.rx, there are " .. #pool.rx .. ".")
        end
        local want = {}
        for i = 1, 8 do want[i] = i end
        for i = 13, 18 do want[#want + 1] = i end
        for j, i in ipairs(want) do
          local e = pool.rx[j]
          if type(e) ~= "table" or e.len ~= PKT or bytes_at(e.buf, PKT) ~= packet(i) then
            return fail("pool.rx[" .. j .. "] should be {buf = a buffer holding packet " .. i .. ", len = " .. PKT .. "}.")
          end
        end
        if #pool.free ~= 8 then return fail("after the second burst (2 left) and the second refill, 8 buffers should be free, there are " .. #pool.free .. ".") end
        if freed_by_learner(r, r.args[2]) ~= 0 then
          return fail("rx_packet or its work freed " .. freed_by_learner(r, r.args[2]) .. " allocation(s) it did not make (the probe's buffers): the pool's buffers stay in the pool.")
        end
        if #r.allocated ~= 14 then
          return fail("the buffers should be the 8 of the probe plus 8 and 6 from the two refills, nothing else: " .. #r.allocated .. " new allocation(s) remain.")
        end
        return pass()
      end,
      allow_reports = { "allocation-failure", "warning" },
      hints = {
        "The handler never calls kmalloc: it only moves buffers from pool.free to pool.rx. The refill is a function you give to schedule_work; it runs in a kworker, where GFP_KERNEL is allowed.",
        "if #pool.free < pool.low then schedule_work(function() while #pool.free < pool.size do local b = kmalloc(2048, GFP_KERNEL); if not b then break end; pool.free[#pool.free + 1] = b end end) end",
        defer = {
          "The handler may not call kmalloc at all, not even with GFP_ATOMIC: write the refill as a function and pass it to schedule_work(fn); it runs in a kworker after the handler has returned.",
          "In rx_packet: if #pool.free < pool.low then schedule_work(function() ... end) end -- and that function kmallocs 2048-byte buffers with GFP_KERNEL until pool.free has pool.size of them.",
        },
      },
    },
  },
}
