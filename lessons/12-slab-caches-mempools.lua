-- Lesson 12: slab caches and mempools. Vocabulary: lessons/README.md.

local DESC = 200          -- bytes per receive descriptor in the tasks

-- What SLUB gives an object of n bytes in a SLAB_HWCACHE_ALIGN cache, for
-- n above half a cache line (mm/slab_common.c calculate_alignment(), then
-- mm/slub.c calculate_sizes()): the 64-byte line.
local function hw_slot(n)
  return (n + 63) // 64 * 64
end

-- kmalloc's size class for n in 257..4096 on 6.x: a power of two.
local function kmalloc_class(n)
  local c = 512
  while c < n do c = c * 2 end
  return c
end

-- Fault injection for the slab allocator, as an administrator would set it
-- up (Documentation/fault-injection/): every atomic slab allocation fails
-- (ignore-gfp-wait stays on, so GFP_KERNEL ones still succeed), silently.
local function failslab(on)
  write("/sys/kernel/debug/failslab/verbose", "0")
  write("/sys/kernel/debug/failslab/interval", "1")
  write("/sys/kernel/debug/failslab/times", "-1")
  write("/sys/kernel/debug/failslab/probability", on and "100" or "0")
end

-- The grader's own receive ring: a cache and a pool on it.
local function ring(min_nr)
  local cache = kmem_cache_create("rx_desc", DESC, 0, SLAB_HWCACHE_ALIGN, nil)
  local pool = mempool_create_slab_pool(min_nr, cache)
  return cache, pool
end

-- A pool's curr_nr read through the kernel's own handle (nil for anything
-- that is not a pool).
local function reserve(pool)
  local ok, n = pcall(function() return pool.curr_nr end)
  if ok and math.type(n) == "integer" then return n end
  return nil
end

return lesson{
  id = "12-slab-caches-mempools",
  title = "Slab caches and mempools: objects of your own, memory you can count on",
  text = [[
# Slab caches and mempools

kmalloc serves every size from a few general caches (lesson 1):
kmalloc-64, kmalloc-96, ..., kmalloc-8k. A driver that allocates
thousands of objects of one type -- receive descriptors, inodes, network
buffers -- usually makes a cache of its own instead, and a driver that
must make progress when memory is short keeps a *mempool* on top of it.
This lesson is about both.

## A cache of your own

    local c = kmem_cache_create("rx_desc", 200, 0, SLAB_HWCACHE_ALIGN, nil)
    local d = kmem_cache_alloc(c, GFP_KERNEL)
    ...
    kmem_cache_free(c, d)
    kmem_cache_destroy(c)         -- every object must be freed first

What you get for it:

- **The size you need.** kmalloc(200) takes a 256-byte object; a cache of
  200-byte objects packs them at the size SLUB computes for *your* object:
  the size rounded to a word, then to the alignment.
- **Alignment.** `SLAB_HWCACHE_ALIGN` aligns each object to the CPU's cache
  line (64 bytes on x86), so two objects never share a line that two CPUs
  write at once. For objects of more than half a line, SLUB rounds each
  slot up to a whole number of lines: 200 bytes take 256, 300 take 320.
  (`c.slot_size` shows it, `c.objects_per_slab` how many fit a slab.)
- **A name.** The cache has its own line in /proc/slabinfo
  (`cat("/proc/slabinfo")`): how many objects are active, how many slabs.
  When your driver leaks, the line grows; kmalloc's leaks hide among
  everyone's.
- **Debugging per cache.** `SLAB_POISON` fills free objects with 0x6b
  (ending in 0xa5) so a use after free reads garbage you can recognise;
  `SLAB_RED_ZONE` puts guard bytes around each object.
- **A constructor.** The fifth argument is a function called with an
  object's address. SLUB calls it once for every object *when a new slab is
  populated* -- not at every allocation. Objects must therefore be given
  back in their constructed state: a lock initialised once stays
  initialised across uses. This surprises everybody once.

(Real kernels may *merge* a new cache into an existing one of the same
size and flags; then it has no slabinfo line of its own. kmlab never
merges, as a kernel booted with `slab_nomerge`.)

## Memory you can count on: mempools

An allocation can fail (lessons 5 and 6). For most code, failure is an
error to return. For some it is not an option: the block layer writing
dirty pages out is *how* memory gets freed, so it must make progress
precisely when memory is short. The kernel's answer is the mempool
(mm/mempool.c):

    local pool = mempool_create_slab_pool(16, c)   -- 16 descriptors set aside
    local d = mempool_alloc(pool, GFP_ATOMIC)
    ...
    mempool_free(d, pool)

- `mempool_create*` allocates `min_nr` elements at once (in process
  context) and keeps them in reserve: `pool.min_nr`, `pool.curr_nr`.
- `mempool_alloc` tries the **allocator first** (the cache, with
  `__GFP_NORETRY | __GFP_NOWARN` added), and takes from the reserve only
  when that fails. The reserve is for bad days, not for every day.
- When both fail, a caller that may sleep (GFP_KERNEL) waits for someone
  to `mempool_free` an element -- the progress guarantee. An atomic
  caller (GFP_ATOMIC, in a handler) gets NULL at once: it must cope.
- `mempool_free` **refills the reserve first**: while `curr_nr` is below
  `min_nr` the element goes back into the pool, otherwise to the cache.
  An element freed with kmem_cache_free behind the pool's back never
  refills it, and the next bad day finds the reserve empty.

## Making the bad day happen: fault injection

To see a failure path run, make allocations fail on purpose:

    write("/sys/kernel/debug/failslab/probability", "100")
    write("/sys/kernel/debug/failslab/times", "-1")
    print(kmem_cache_alloc(c, GFP_ATOMIC))    --> nil: forced to fail
    print(mempool_alloc(pool, GFP_ATOMIC))    --> an address: the reserve
    print(pool.curr_nr)                        --> one fewer

By default only allocations that cannot sleep are failed (`ignore-gfp-wait`
is 1), so GFP_KERNEL still works; `cat("/sys/kernel/debug/failslab/times")`
and the other files show the settings.

The tasks build a small receive path on a cache of 200-byte descriptors:
set-up in process context, allocation in the interrupt handler, and the
completion in a tasklet.
]],
  exercises = {
    question{
      id = "slot", points = 2,
      explain = "SLAB_HWCACHE_ALIGN aligns objects larger than half a cache line to the 64-byte line, so each slot is the object size rounded up to a multiple of 64 -- not to kmalloc's power-of-two classes.",
      -- Each learner gets their own object size, chosen so that the
      -- cache's slot, kmalloc's class and the size itself all differ.
      variant = function(rng)
        local n
        repeat
          n = rng:int(260, 1000)
          local s = hw_slot(n)
        until s ~= n and s & (s - 1) ~= 0 and s ~= kmalloc_class(n) and s ~= (n + 7) // 8 * 8
        return { n = n }
      end,
      prompt = function(v)
        return "A driver makes a cache with kmem_cache_create(\"rx_desc\", " .. v.n .. ", 0, SLAB_HWCACHE_ALIGN, nil) on a 6.x kernel. How many bytes does each object take in its slab (the cache's slot_size)?"
      end,
      answer = function(v) return numeric(hw_slot(v.n)) end,
      feedback = function(v)
        local class = kmalloc_class(v.n)
        return {
          [v.n] = "Objects are aligned: SLAB_HWCACHE_ALIGN rounds each slot up to whole 64-byte cache lines.",
          [class] = class .. " is kmalloc's size class (kmalloc-" .. class .. "). A cache of your own is not limited to kmalloc's sizes: its slot is your object rounded to the alignment.",
          [(v.n + 7) // 8 * 8] = "That is the object rounded to a word, SLUB's slot without SLAB_HWCACHE_ALIGN; this cache also aligns to the cache line.",
        }
      end,
      hints = function(v)
        return { "Try it: kmem_cache_create(\"x\", " .. v.n .. ", 0, SLAB_HWCACHE_ALIGN, nil).slot_size", "Round " .. v.n .. " up to a multiple of 64." }
      end,
    },
    question{
      id = "ctor", points = 1,
      explain = "SLUB runs the constructor on every object of a slab when the slab is made (setup_object), so an object keeps its constructed state across allocations and must be freed back in that state.",
      prompt = "A cache was created with a constructor. When does SLUB call it?",
      answer = choice{
        "for each object of a new slab, when the slab is populated",
        "on each kmem_cache_alloc, just before the object is returned",
        "on each kmem_cache_free, so the next user finds it constructed",
        "once, at kmem_cache_create, on a template copied into new objects",
      correct = 1 },
      feedback = {
        b = "That would be an init function you call yourself after kmem_cache_alloc. The constructor runs far less often: an object that comes back from a free is handed out again as it was left.",
        c = "kmem_cache_free does not call the constructor; that is why objects must be freed in their constructed state.",
        d = "There is no template: the constructor is called with the address of each real object.",
      },
      hints = { "Make a cache whose constructor counts its calls, allocate and free one object a few times, and count." },
    },
    task{
      id = "rx_init", points = 2, expects = "rx_init", template = "n",
      explain = "kmem_cache_create with SLAB_HWCACHE_ALIGN gives the descriptors a cache-line-aligned cache of their own, visible by name in /proc/slabinfo; mempool_create_slab_pool sets n of them aside at once, in process context where GFP_KERNEL may sleep.",
      prompt = "Write rx_init(n): called at probe time (process context), it creates a slab cache named \"rx_desc\" for 200-byte descriptors, aligned to the cache line (SLAB_HWCACHE_ALIGN), and a mempool on that cache with n descriptors in reserve. Return the cache and the pool (two values).",
      cases = function(rng)
        return {
          { boot = {}, args = { rng:int(4, 12) } },
          { boot = { arch = "x86_64" }, args = { rng:int(13, 32) } },
        }
      end,
      check = function(r)
        local n = r.args[1]
        local cache, pool = r.results[1], r.results[2]
        local ok, size = pcall(kmem_cache_size, cache)
        if not ok then return fail("the first value returned is not a cache made by kmem_cache_create.") end
        if cache.name ~= "rx_desc" then return fail("the cache is named " .. tostring(cache.name) .. ", not rx_desc.") end
        if size ~= DESC then return fail("the cache's objects are " .. tostring(size) .. " bytes, not " .. DESC .. ".") end
        if cache.slot_size ~= hw_slot(DESC) then
          return fail("each descriptor takes " .. tostring(cache.slot_size) .. " bytes: the cache is not aligned to the cache line (SLAB_HWCACHE_ALIGN would give " .. hw_slot(DESC) .. ").", { hint = "align" })
        end
        local nr = reserve(pool)
        if nr == nil or not pcall(mempool_resize, pool, n) then return fail("the second value returned is not a mempool.") end
        if pool.min_nr ~= n or nr ~= n then
          return fail("the pool should keep " .. n .. " descriptors in reserve; it has min_nr " .. tostring(pool.min_nr) .. ", curr_nr " .. tostring(nr) .. ".")
        end
        -- The reserve must be made of the cache's own objects: the cache
        -- has slabs for at least n of them (SLUB counts a CPU slab's free
        -- objects as active, so slabinfo's object total is what to read).
        local objs = proc("/proc/slabinfo"):match("\nrx_desc%s+%d+%s+(%d+)")
        if (tonumber(objs) or 0) < n then
          return fail("/proc/slabinfo shows " .. tostring(objs or 0) .. " rx_desc objects, but the pool should hold " .. n .. " of them: make the pool on the cache (mempool_create_slab_pool).", { hint = "slab-pool" })
        end
        return pass()
      end,
      hints = {
        "local cache = kmem_cache_create(\"rx_desc\", 200, 0, SLAB_HWCACHE_ALIGN, nil)",
        "return cache, mempool_create_slab_pool(n, cache)",
        align = { "The fourth argument of kmem_cache_create is the flags: SLAB_HWCACHE_ALIGN." },
        ["slab-pool"] = { "mempool_create_slab_pool(n, cache) keeps n objects of that cache in reserve." },
      },
    },
    task{
      id = "rx_packet", points = 3, expects = "rx_packet", template = "pool, cache",
      context = "hardirq",
      explain = "mempool_alloc with GFP_ATOMIC tries the cache first and falls back on the reserve only when the cache fails; with both exhausted it returns NULL at once, which an interrupt handler can cope with (it drops the packet).",
      prompt = "Write rx_packet(pool, cache): called in the network card's interrupt handler for each received packet, it returns a descriptor for the packet, or nil when none can be had (the packet is dropped). pool is the mempool of rx_desc descriptors made at probe time, on cache. The grader calls it on a good day, on a bad day (every atomic slab allocation fails), and on a day so bad that the reserve is empty too.",
      cases = function(rng)
        local n = rng:int(4, 16)
        return {
          { label = "a good day", min = n, day = "good" },
          { label = "a bad day: atomic slab allocations fail", min = n, day = "bad" },
          { label = "the reserve is empty and atomic slab allocations fail", min = n, day = "empty" },
        }
      end,
      setup = function(case)
        local cache, pool = ring(case.min)
        if case.day ~= "good" then failslab(true) end
        if case.day == "empty" then
          for _ = 1, case.min do mempool_alloc(pool, GFP_ATOMIC) end
        end
        case.cache, case.pool = cache, pool
        case.before = pool.curr_nr
        return pool, cache
      end,
      check = function(r)
        local case, d = r.case, r.returned
        failslab(false)
        local after = reserve(case.pool)
        if case.day == "empty" then
          if d ~= nil then return fail("there was nothing left to give, yet rx_packet returned " .. tostring(d) .. ".") end
          return pass()
        end
        if math.type(d) ~= "integer" then
          if case.day == "bad" then
            return fail("the slab allocator failed, and rx_packet returned nil although the pool had " .. case.before .. " descriptors in reserve for exactly this day. Allocate through the pool: mempool_alloc(pool, GFP_ATOMIC).", { hint = "pool" })
          end
          return fail("rx_packet returned " .. tostring(d) .. " instead of a descriptor.")
        end
        if d & 63 ~= 0 or not proc("/proc/slabinfo"):find("\nrx_desc ") then
          return fail("the returned address is not a descriptor from the rx_desc cache.")
        end
        if case.day == "good" and after ~= case.before then
          return fail("on a good day the descriptor should come from the cache; the pool's reserve went from " .. case.before .. " to " .. tostring(after) .. ". The reserve is for bad days: mempool_alloc tries the allocator first.", { hint = "reserve-first" })
        end
        if case.day == "bad" and after ~= case.before - 1 then
          return fail("the descriptor should come from the reserve on a bad day; curr_nr went from " .. case.before .. " to " .. tostring(after) .. ".")
        end
        return pass()
      end,
      hints = {
        "In an interrupt handler: GFP_ATOMIC. And go through the pool, not the cache.",
        "return mempool_alloc(pool, GFP_ATOMIC)",
        pool = { "kmem_cache_alloc fails on a bad day; mempool_alloc(pool, GFP_ATOMIC) tries the cache and then the reserve." },
        ["reserve-first"] = { "Do not take elements out of the reserve yourself: mempool_alloc(pool, GFP_ATOMIC) decides." },
      },
    },
    task{
      id = "rx_done", points = 2, expects = "rx_done", template = "pool, desc, cache",
      context = "softirq",
      explain = "mempool_free refills the reserve while it is below min_nr and returns the element to the cache otherwise; freeing behind the pool's back with kmem_cache_free leaves the reserve short for the next bad day.",
      prompt = "Write rx_done(pool, desc, cache): called in a tasklet when the stack is done with a packet's descriptor desc (which came from rx_packet, that is from the pool). Give the descriptor back so that the next bad day finds the reserve full again.",
      cases = function(rng)
        local n = rng:int(4, 16)
        return {
          { label = "a descriptor taken from the reserve on a bad day", min = n, from = "reserve" },
          { label = "a descriptor the cache gave on a good day", min = n, from = "cache" },
        }
      end,
      setup = function(case)
        local cache, pool = ring(case.min)
        if case.from == "reserve" then failslab(true) end
        local d = mempool_alloc(pool, GFP_ATOMIC)
        failslab(false)
        case.pool, case.desc = pool, d
        case.before = pool.curr_nr
        return pool, d, cache
      end,
      check = function(r)
        local case = r.case
        local after = reserve(case.pool)
        local freed = false
        for _, a in ipairs(r.freed_foreign) do
          if a.address == case.desc then freed = true end
        end
        if case.from == "reserve" then
          if after ~= case.min then
            if freed then
              return fail("the descriptor went back to the cache, and the reserve stays at " .. tostring(after) .. " of " .. case.min .. ": the next bad day finds it short. mempool_free(desc, pool) refills the reserve first.", { hint = "refill" })
            end
            return fail("the reserve should be back at " .. case.min .. " descriptors; it is at " .. tostring(after) .. ".", { hint = "refill" })
          end
          return pass()
        end
        if not freed then return fail("the reserve was full, so the descriptor should have gone back to the cache; it is still allocated.") end
        if after ~= case.min then return fail("the reserve should stay at " .. case.min .. "; it is at " .. tostring(after) .. ".") end
        return pass()
      end,
      hints = {
        "Whatever came from the pool goes back to the pool.",
        "mempool_free(desc, pool)",
        refill = { "kmem_cache_free(cache, desc) frees behind the pool's back; mempool_free(desc, pool) refills the reserve while it is short." },
      },
    },
  },
}
