-- Lesson 6: when allocation fails in an interrupt handler.
-- Vocabulary: lessons/README.md.

local BUFSIZE = 1536

-- What the defer task's refill function saw when it ran.
local deferred = {}

-- Exhausts memory the way a machine under heavy load looks to an interrupt
-- handler: the free lists down to the min watermark, then GFP_ATOMIC's
-- reserve below it. Nothing is reclaimable on this freshly booted machine.
local function exhaust_memory()
  for order = MAX_PAGE_ORDER, 0, -1 do
    while __get_free_pages(__GFP_NOWARN, order) do end
  end
  while kmalloc(BUFSIZE, GFP_ATOMIC | __GFP_NOWARN) do end
end

local function is_buffer(p)
  if math.type(p) ~= "integer" then return false end
  local ok, size = pcall(ksize, p)
  return ok and math.type(size) == "integer" and size >= BUFSIZE
end

return lesson{
  id = "06-allocation-failure",
  title = "When allocation fails: strategies for interrupt handlers",
  text = [[
# When allocation fails in an interrupt handler

Lesson 5 said: in an interrupt handler, allocate with GFP_ATOMIC. This
lesson is about the day GFP_ATOMIC returns NULL -- which, on a busy machine
receiving packets faster than it can process them, is a normal day.

## Why GFP_ATOMIC fails

Each zone has watermarks (min, low, high; /proc/zoneinfo). Below *low*,
allocations wake kswapd to reclaim in the background. Below *min*, ordinary
allocations must reclaim directly -- sleep -- or fail. GFP_ATOMIC's
`__GFP_HIGH` lets it go somewhat below min, into a reserve kept for callers
that cannot sleep. When that reserve is gone, it fails: it cannot wait for
kswapd, it cannot reclaim, it cannot compact. (GFP_NOWAIT has no
`__GFP_HIGH` and fails earlier.)

## What a handler does about it

1. **Preallocate** in process context. At probe time (or when the interface
   comes up) fill a ring or pool of buffers with GFP_KERNEL, which may sleep
   and reclaim. The handler takes buffers from the pool and never
   allocates in the common case. (The kernel's `mempool_t` packages the
   idea: a reserve of elements guaranteed to be there.)
2. **GFP_ATOMIC as the fallback**, with `__GFP_NOWARN`: you expect it may
   fail and you handle it, so the "page allocation failure" splat with its
   memory dump is noise.
3. **Drop gracefully.** No buffer means the packet is dropped: count it
   (`rx_dropped` in the interface's statistics), give the device its old
   buffer back, return IRQ_HANDLED. Networking survives lost packets; the
   sender retransmits.
4. **Defer the refill** to process context: `schedule_work(refill)`. The
   work item runs in a kworker, where GFP_KERNEL may sleep and reclaim to
   top the pool up again.

What a handler must never do: loop until the allocation succeeds (nothing
will free memory while this CPU spins in the handler with interrupts
off), or switch to GFP_KERNEL (the sleeping-in-atomic BUG, and a
deadlock if it really sleeps).

What kmlab simplifies: kswapd's reclaim happens at once rather than in the
background, and the tasks' machines are drained artificially.

## Exercises

Start with `kmlab lesson 6 --template > a6.lua`. A ring is a table:

    ring = { size = 1536, target = 16, pool = { addr, addr, ... }, dropped = 0 }
]],
  exercises = {
    question{
      id = "on_failure", points = 2,
      prompt = "A network card's interrupt handler gets nil from kmalloc(len, GFP_ATOMIC) for a received packet. What should it do?",
      answer = choice{
        "retry the allocation until it succeeds",
        "allocate with GFP_KERNEL instead, which tries harder",
        "drop the packet, count the drop, and let process context (a work item) refill the buffers",
        "call panic(): the machine is out of memory",
      correct = 3 },
      feedback = {
        a = "Nothing frees memory while this CPU spins in the handler with interrupts off: at best a long stall, at worst a lockup.",
        b = "GFP_KERNEL may sleep: in an interrupt handler that is the sleeping-in-atomic BUG (lesson 5).",
        d = "A transient shortage of atomic memory is routine on a busy machine; dropping a packet is the normal answer.",
      },
      hints = { "Networking protocols tolerate lost packets." },
    },
    question{
      id = "reserve", points = 1,
      prompt = "Why can GFP_ATOMIC succeed when GFP_NOWAIT already fails?",
      answer = choice{
        "GFP_ATOMIC sleeps briefly",
        "GFP_ATOMIC includes __GFP_HIGH: it may use part of the reserve below the min watermark",
        "GFP_ATOMIC takes memory from other CPUs",
        "it cannot: they are the same flags",
      correct = 2 },
      feedback = { a = "Neither may sleep.", d = "GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM (0x820); GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN (0x2800)." },
      hints = { "Compare the bits of GFP_ATOMIC (0x820) and GFP_NOWAIT (0x2800)." },
    },
    task{
      id = "preallocate", points = 2, expects = "rx_ring_init", template = "ring",
      prompt = "Write rx_ring_init(ring): called at probe time (process context): fill ring.pool with ring.target buffers of ring.size bytes each and return 0; if an allocation fails, free what you allocated, empty the pool and return -ENOMEM.",
      setup = function() return { size = BUFSIZE, target = 16, pool = {}, dropped = 0 } end,
      check = function(r)
        local ring = r.args[1]
        if r.returned ~= 0 then return fail("rx_ring_init should return 0 when it could fill the pool; got " .. tostring(r.returned) .. ".") end
        if type(ring.pool) ~= "table" or #ring.pool ~= 16 then return fail("ring.pool should hold ring.target = 16 buffers.") end
        local seen = {}
        for i = 1, 16 do
          local b = ring.pool[i]
          if not is_buffer(b) or seen[b] then return fail("ring.pool[" .. i .. "] is not a distinct buffer of at least " .. BUFSIZE .. " bytes.") end
          seen[b] = true
        end
        if r.leaked ~= 16 then return fail("exactly the 16 pool buffers should be allocated; " .. r.leaked .. " allocations are.") end
        return pass()
      end,
      hints = { "At probe time you may sleep: GFP_KERNEL.", "for i = 1, ring.target do local b = kmalloc(ring.size, GFP_KERNEL) ... ring.pool[i] = b end" },
    },
    task{
      id = "rx_irq", points = 3, expects = "rx_take_buffer", template = "ring",
      context = "hardirq", max_instructions = 100000,
      prompt = "Write rx_take_buffer(ring): called from the interrupt handler for each received packet, with memory exhausted. Take a buffer from ring.pool if it has one (table.remove); otherwise try kmalloc(ring.size, ...) with flags fit for an interrupt handler that expects failure; if that fails, count the drop (ring.dropped = ring.dropped + 1) and return nil. Return the buffer. The pool holds 2 buffers; four packets arrive.",
      setup = function()
        local ring = { size = BUFSIZE, target = 16, pool = {}, dropped = 0 }
        ring.pool[1] = kmalloc(BUFSIZE, GFP_KERNEL)
        ring.pool[2] = kmalloc(BUFSIZE, GFP_KERNEL)
        exhaust_memory()
        return ring
      end,
      call = function(f, ring) return f(ring), f(ring), f(ring), f(ring) end,
      check = function(r)
        local ring = r.args[1]
        if not is_buffer(r.results[1]) or not is_buffer(r.results[2]) then
          return fail("the first two packets should get the two pool buffers.")
        end
        if r.results[3] ~= nil or r.results[4] ~= nil then
          return fail("memory is exhausted and the pool is empty: packets 3 and 4 must be dropped (return nil).")
        end
        if ring.dropped ~= 2 then return fail("two packets were dropped; ring.dropped is " .. tostring(ring.dropped) .. ".") end
        return pass()
      end,
      hints = {
        "In a handler: GFP_ATOMIC. And a failure you expect and handle should not print a warning.",
        "local b = table.remove(ring.pool) or kmalloc(ring.size, GFP_ATOMIC | __GFP_NOWARN); if not b then ring.dropped = ring.dropped + 1 end; return b",
      },
    },
    task{
      id = "defer", points = 2, expects = "rx_out_of_buffers", template = "ring",
      context = "hardirq",
      prompt = "Write rx_out_of_buffers(ring): called from the interrupt handler when the pool is empty and GFP_ATOMIC failed. Count the drop and arrange for ring.refill (a function that refills the pool with GFP_KERNEL) to run later in process context. Do not call it directly: it sleeps.",
      setup = function()
        local ring = { size = BUFSIZE, target = 16, pool = {}, dropped = 0 }
        deferred.ran, deferred.in_process = false, false
        ring.refill = function()
          deferred.ran = true
          deferred.in_process = in_task() and not in_atomic()
        end
        exhaust_memory()
        return ring
      end,
      check = function(r)
        local ring = r.args[1]
        -- What the learner deferred has run by now (the grader runs pending
        -- tasklets and work after the call, as the kernel would).
        if deferred.ran and not deferred.in_process then
          return fail("ring.refill ran in atomic context -- called from the handler itself, or from a tasklet (softirq context, still atomic): it must run from a work item.")
        end
        if ring.dropped ~= 1 then return fail("count the dropped packet: ring.dropped should be 1, it is " .. tostring(ring.dropped) .. ".") end
        if not deferred.ran then return fail("ring.refill never ran: queue it on the system workqueue with schedule_work(ring.refill).") end
        return pass()
      end,
      hints = { "A work item runs in process context (a kworker).", "schedule_work(ring.refill)" },
    },
  },
}
