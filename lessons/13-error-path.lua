-- Lesson 13: testing the error path. Vocabulary: lessons/README.md.

local IRQ = 21
local PRIV, REQ, NREQ, RING, STATUS, TABLE = 256, 192, 4, 8192, 64, 3 * 4096
-- Failure points the checks try, per allocator: more than the probe the
-- lesson describes makes (6 slab allocations; its page allocations include
-- new slabs, the ring and the table's pages), so that every one of them is
-- failed in turn. A point past the probe's last allocation never fires:
-- that case checks the success path instead.
local SLAB_POINTS, PAGE_POINTS = 8, 10

-- The machine: x86_64 with 8 GiB, where a 32-bit device's buffers above
-- 4 GiB bounce through SWIOTLB (the unmap copies the device's data back).
local MACHINE = { arch = "x86_64", ram = "8G" }

local function new_card()
  return pci_device{ name = "kmblk", irq = IRQ, dma_mask_bits = 32 }
end

-- Fault injection, as an administrator sets it up through debugfs
-- (Documentation/fault-injection/): the nth allocation of `kind` from now
-- fails, once, sleeping ones too (ignore-gfp-wait N), and for the page
-- allocator also single pages (min-order 0) and highmem-capable ones such
-- as vmalloc's (ignore-gfp-highmem N); quietly (verbose 0).
local function fail_nth(kind, nth)
  local dir = "/sys/kernel/debug/" .. kind .. "/"
  write(dir .. "ignore-gfp-wait", "N")
  if kind == "fail_page_alloc" then
    write(dir .. "ignore-gfp-highmem", "N")
    write(dir .. "min-order", "0")
  end
  write(dir .. "verbose", "0")
  write(dir .. "times", "1")
  write(dir .. "interval", tostring(nth))
  write(dir .. "probability", "100")
end

-- Whether the injected failure happened (times went from 1 to 0); stops injecting.
local function fault_fired(kind)
  local dir = "/sys/kernel/debug/" .. kind .. "/"
  local fired = proc(dir .. "times") == "0\n"
  write(dir .. "probability", "0")
  return fired
end

-- What the driver still holds that the kernel can see, whoever allocated
-- it: DMA mappings and coherent buffers of the card (dma-debug's dump), the
-- interrupt line, the request cache. nil when nothing.
local function held()
  local what = {}
  local maps = 0
  for line in proc("/sys/kernel/debug/dma-api/dump"):gmatch("[^\n]+") do
    if line:find("^kmblk ") then maps = maps + 1 end
  end
  if maps > 0 then what[#what + 1] = maps .. " DMA mapping(s) or coherent buffer(s)" end
  if proc("/proc/interrupts"):find("kmblk", 1, true) then what[#what + 1] = "irq " .. IRQ end
  if proc("/proc/slabinfo"):find("\nkmblk_req ", 1, true) then what[#what + 1] = "the kmblk_req cache" end
  return what
end

-- The ring's and the status block's DMA addresses, as dma-debug lists them.
local function card_view()
  local ring, status
  for line in proc("/sys/kernel/debug/dma-api/dump"):gmatch("[^\n]+") do
    local kind, dma, len = line:match("^kmblk %S+ (%S+) idx %d+ P=%S+ D=(%x+) L=(%x+)")
    if kind == "coherent" and tonumber(len, 16) == RING then ring = tonumber(dma, 16) end
    if kind == "single" and tonumber(len, 16) == STATUS then status = tonumber(dma, 16) end
  end
  return ring, status
end

local function ordinal(n)
  local suffix = (n % 100 >= 11 and n % 100 <= 13) and "th" or ({ "st", "nd", "rd" })[n % 10] or "th"
  return n .. suffix
end

-- What is left after the call, in words (nil: nothing).
local function leftovers(r, after)
  local parts = {}
  if r.allocated.n > 0 then
    local kinds = {}
    for _, a in ipairs(r.allocated) do kinds[#kinds + 1] = tostring(a.kind) .. " of " .. tostring(a.size) .. " bytes" end
    parts[#parts + 1] = r.allocated.n .. " allocation(s) (" .. table.concat(kinds, ", ") .. ")"
  end
  for _, w in ipairs(after or {}) do parts[#parts + 1] = w end
  if #parts == 0 then return nil end
  return table.concat(parts, ", ")
end

-- The steps of probe and the label a failure of each jumps to, in the
-- ladder of the lesson's text.
local STEPS = {
  { call = "kmem_cache_create(\"kmblk_req\", ...)", label = "err_free_priv" },
  { call = "kmem_cache_alloc(cache, GFP_KERNEL) of a request", label = "err_free_reqs" },
  { call = "dma_alloc_coherent(dev, 8192, GFP_KERNEL)", label = "err_free_reqs" },
  { call = "kmalloc(64, GFP_KERNEL) of the status block", label = "err_free_ring" },
  { call = "dma_map_single(dev, status, 64, DMA_FROM_DEVICE)", label = "err_free_status" },
  { call = "vzalloc(3 * PAGE_SIZE)", label = "err_unmap" },
  { call = "request_irq(dev.irq, blk_irq, 0, \"kmblk\", dev)", label = "err_vfree" },
}
local LABELS = { "err_vfree", "err_unmap", "err_free_status", "err_free_ring", "err_free_reqs", "err_free_priv", "out" }

return lesson{
  id = "13-error-path",
  title = "Testing the error path: fault injection and the unwind ladder",
  text = [[
# Testing the error path

Most of a driver's code runs every day. Its error paths run on the one
day an allocation fails -- on a customer's machine, under memory pressure,
years later. They are where the bugs hide: a probe that leaks when its
fourth allocation fails, an unwind that frees something twice, or frees a
buffer while the device still has it mapped. This lesson is about writing
error paths the kernel's way and, above all, about *running* them.

## The unwind ladder

A probe acquires resources one after another. When step k fails, it must
release steps k-1, ..., 1 -- each exactly once, in reverse order -- and
return an error. The kernel writes this as a ladder of labels, one per
step, in reverse order, each falling through to the next:

    priv = kzalloc(PRIV_SIZE, GFP_KERNEL);
    if (!priv)
            return -ENOMEM;
    priv->ring = dma_alloc_coherent(dev, RING, &priv->ring_dma, GFP_KERNEL);
    if (!priv->ring)
            goto err_free_priv;
    err = request_irq(irq, handler, 0, "kmblk", dev);
    if (err)
            goto err_free_ring;
    return 0;

    err_free_ring:
            dma_free_coherent(dev, RING, priv->ring, priv->ring_dma);
    err_free_priv:
            kfree(priv);
            return err;

A failure jumps to the label that releases *the step before it*, and the
fall-through releases everything earlier. Adding a step means adding one
line at the top of the ladder; nothing is released twice, nothing is
forgotten. (The alternative, a cleanup block repeated after every
failing call, is where the copies drift apart.)

Lua 5.4 has `goto` too, so the ladder is written the same way:

    local priv, ring, ring_dma       -- all locals first: see below
    local err = -ENOMEM
    priv = kzalloc(256, GFP_KERNEL)
    if not priv then goto out end
    ring, ring_dma = dma_alloc_coherent(dev, 8192, GFP_KERNEL)
    if not ring then goto err_free_priv end
    ...
    do return 0 end                  -- 'return' must end a block in Lua

    ::err_free_ring::
    dma_free_coherent(dev, 8192, ring, ring_dma)
    ::err_free_priv::
    kfree(priv)
    ::out::
    return err

One Lua rule shapes it: a `goto` may not jump into the scope of a local
variable, so a `local` declared between the jump and its label is an
error when the file loads ("jumps into the scope of local"). Declare every
variable the ladder uses at the top.

## Order matters, not only count

Release in reverse order of acquisition, because later steps depend on
earlier ones. The interrupt handler uses the ring, so `free_irq` comes
before the ring is freed (after it, no handler runs). A buffer mapped for
DMA belongs to the device until `dma_unmap_single` gives it back, so unmap
*before* `kfree`. On this lesson's machine the difference is visible: the
card's addresses are 32 bits wide and the machine has 8 GiB, so a buffer
above 4 GiB is *bounced* through SWIOTLB, and unmapping a
`DMA_FROM_DEVICE` mapping copies the device's data back into the buffer.
If the buffer was already freed, that copy writes into freed memory, and
KASAN reports a use-after-free.

## Making the failure happen: fault injection

You cannot wait for memory pressure to reach the fourth allocation of
your probe. The kernel's fault injection (Documentation/fault-injection/,
lib/fault-inject.c) makes it fail on purpose. Two of its users:

- **failslab** (mm/failslab.c): fails `kmalloc`, `kzalloc` and
  `kmem_cache_alloc`;
- **fail_page_alloc** (mm/fail_page_alloc.c): fails the page allocator,
  and so `alloc_pages`, `dma_alloc_coherent`, `vmalloc`'s pages and the
  new slabs behind a kmalloc.

Each is configured through debugfs, `/sys/kernel/debug/failslab/` and
`/sys/kernel/debug/fail_page_alloc/`, with `write()` (as `echo` would) and
read with `cat()`:

| file | meaning |
| --- | --- |
| `probability` | percent of the eligible calls that fail (0: off) |
| `interval` | only every interval-th eligible call may fail |
| `times` | how many failures at most (-1: no limit); counts down |
| `space` | bytes allocated freely before failures start |
| `verbose` | 0: silent; 1: `FAULT_INJECTION: forcing a failure.` and a stack dump |
| `ignore-gfp-wait` | Y (the default): spare allocations that may sleep, such as GFP_KERNEL |
| `ignore-gfp-highmem` | fail_page_alloc, Y by default: spare __GFP_HIGHMEM requests (vmalloc's pages) |
| `min-order` | fail_page_alloc, 1 by default: spare single pages |

The same settings can be given at boot, as the kernel's
`failslab=interval,probability,space,times` parameter:
`boot{ failslab = "1,100,0,1" }`. To fail exactly the nth allocation from
now, sleeping ones included:

    local dir = "/sys/kernel/debug/failslab/"
    write(dir .. "ignore-gfp-wait", "N")
    write(dir .. "verbose", "0")
    write(dir .. "times", "1")
    write(dir .. "interval", tostring(n))
    write(dir .. "probability", "100")
    print(blk_probe(dev))                 --> -12 if your probe made n or more
    print(cat(dir .. "times"))            --> 0: the failure happened

Test a probe by failing its first allocation, then its second, ..., until
one run makes no failure happen (`times` still 1): that run was the
success path. After each failing run, nothing may be left: no allocation,
no mapping, no interrupt, no cache (`cat("/proc/slabinfo")`,
`cat("/sys/kernel/debug/dma-api/dump")`, `cat("/proc/interrupts")`).
Boot a fresh machine for each run (`boot{arch="x86_64", ram="8G"}` at the
top level of a test script): the attribute counters carry over otherwise.

## The driver: kmblk

The card is `pci_device{name="kmblk", irq=21, dma_mask_bits=32}` on an
x86_64 machine with 8 GiB. Its probe, `blk_probe(dev)`, does in order:

1. `priv = kzalloc(256, GFP_KERNEL)` -- the driver's private state;
2. `cache = kmem_cache_create("kmblk_req", 192, 0, 0, nil)` -- a cache of
   request objects (it returns nil only on bad arguments; check anyway);
3. 4 requests, `kmem_cache_alloc(cache, GFP_KERNEL)` each, request i
   (1 to 4) marked with its number: `poke(req, string.pack("<I4", i))`;
4. the command ring, `ring, ring_dma = dma_alloc_coherent(dev, 8192, GFP_KERNEL)`;
5. the status block the card writes, `status = kmalloc(64, GFP_KERNEL)`,
   mapped with `dma_map_single(dev, status, 64, DMA_FROM_DEVICE)`
   (`dma_mapping_error` is a failure too), its DMA address written into
   the ring's first 8 bytes: `poke(ring, string.pack("<I8", status_dma))`;
6. a lookup table, `vzalloc(3 * PAGE_SIZE)`;
7. `request_irq(dev.irq, blk_irq, 0, "kmblk", dev)`, with a handler of
   yours that returns IRQ_HANDLED.

It returns 0, or, having released everything it acquired, the negative
errno: -ENOMEM when an allocation or the mapping fails, request_irq's own
error when that fails. `blk_remove(dev)` releases everything a successful
probe acquired, in reverse order. Keep the driver's state in a local
table at the top of your answers file (`local blk = {}`) and your handler
above `blk_probe`.
]],
  exercises = {
    question{
      id = "spared", points = 1,
      explain = "ignore-gfp-wait is Y by default: fault injection spares allocations that may sleep (__GFP_DIRECT_RECLAIM, as in GFP_KERNEL), so a probe's GFP_KERNEL allocations never fail until it is set to N.",
      variant = function(rng) return { n = rng:int(3, 9) } end,
      prompt = function(v)
        return "A probe makes " .. v.n .. " kmalloc(..., GFP_KERNEL) calls. Before loading it you write 100 to /sys/kernel/debug/failslab/probability and -1 to .../times, and change nothing else. How many of the " .. v.n .. " allocations fail?"
      end,
      answer = numeric(0),
      feedback = function(v)
        return {
          [v.n] = "Read the other attributes: cat(\"/sys/kernel/debug/failslab/ignore-gfp-wait\"). Which allocations does the default spare?",
          [1] = "times -1 means no limit on the number of failures, not one failure. Something else spares these allocations.",
        }
      end,
      hints = { "cat(\"/sys/kernel/debug/failslab/ignore-gfp-wait\")", "GFP_KERNEL may sleep." },
    },
    question{
      id = "ladder", points = 2,
      explain = "A failure jumps to the label that releases the step before it; the labels below it fall through and release the earlier steps, each once.",
      variant = function(rng) return { step = rng:int(1, #STEPS) } end,
      prompt = function(v)
        return "In kmblk's probe (the lesson's text), with the ladder err_vfree, err_unmap, err_free_status, err_free_ring, err_free_reqs, err_free_priv, out (in that order, each label releasing one step: vfree, unmap, kfree the status block, free the ring, free the requests and destroy the cache, kfree priv), " .. STEPS[v.step].call .. " fails. Which label does the probe jump to?"
      end,
      answer = function(v)
        local correct
        for i, l in ipairs(LABELS) do if l == STEPS[v.step].label then correct = i end end
        return choice{ LABELS[1], LABELS[2], LABELS[3], LABELS[4], LABELS[5], LABELS[6], LABELS[7], correct = correct, keep_order = true }
      end,
      feedback = function(v)
        local fb = {}
        local right
        for i, l in ipairs(LABELS) do if l == STEPS[v.step].label then right = i end end
        for i, l in ipairs(LABELS) do
          local letter = string.char(96 + i)
          if i < right then
            fb[letter] = l .. " releases a step the probe had not reached when this call failed: it would release something it never acquired."
          elseif i > right then
            fb[letter] = l .. " skips releasing the step just before the failure: it leaks."
          end
        end
        return fb
      end,
      hints = { "Which step was the last one that succeeded? Jump to the label that releases it." },
    },
    task{
      id = "probe", points = 4, expects = "blk_probe", template = "dev",
      boot = MACHINE,
      allow_reports = { "allocation-failure" },
      explain = "Each failure jumps to the label that releases the step before it; the ladder releases every earlier step once, in reverse order, unmapping the status block before freeing it, and the probe returns -ENOMEM (or request_irq's error).",
      prompt = "Write blk_probe(dev) as the lesson's text describes, and its handler. This check fails each of probe's allocations in turn with fault injection (the 1st, 2nd, ... slab allocation; the 1st, 2nd, ... page allocation), and once makes request_irq fail (another driver holds irq 21). After every failure nothing may be left: no allocation, DMA mapping, coherent buffer, interrupt or cache, each released exactly once. When a run makes no failure happen (fewer allocations than the case's n), the probe must succeed, and blk_remove must then leave nothing.",
      cases = function()
        local list = { { label = "irq 21 held by another driver", busy = true } }
        for k = 1, SLAB_POINTS do
          list[#list + 1] = { fault = "failslab", nth = k, label = "the " .. ordinal(k) .. " slab allocation failing (failslab)" }
        end
        for k = 1, PAGE_POINTS do
          list[#list + 1] = { fault = "fail_page_alloc", nth = k, label = "the " .. ordinal(k) .. " page allocation failing (fail_page_alloc)" }
        end
        return list
      end,
      setup = function(case) return new_card(), case end,
      call = function(blk_probe, dev, case)
        local busy
        if case.busy then
          busy = {}
          request_irq(IRQ, function() return IRQ_NONE end, 0, "other-driver", busy)
        else
          fail_nth(case.fault, case.nth)
        end
        local ret = blk_probe(dev)
        local fired = true
        if case.fault then fired = fault_fired(case.fault) end
        if busy then free_irq(IRQ, busy) end
        local removed = false
        if ret == 0 then
          -- The success path (or a failure the kernel absorbed, such as a
          -- new slab's optimistic order): the driver must remove cleanly.
          local blk_remove = learner_function("blk_remove")
          if blk_remove then blk_remove(dev) removed = true end
        end
        return ret, { fired = fired, removed = removed, held = held() }
      end,
      check = function(r)
        local ret, info, case = r.results[1], r.results[2], r.case
        if type(info) ~= "table" then return fail("the grader could not run your probe.") end
        if #r.freed_foreign > 0 then return fail("blk_probe freed memory it did not allocate.") end
        local left = leftovers(r, info.held)
        if ret == 0 then
          if case.busy then
            return fail("request_irq failed (another driver holds irq " .. IRQ .. "), yet blk_probe returned 0: return request_irq's error after releasing everything.", { hint = "irq" })
          end
          if not info.removed then return fail("define blk_remove too: after a successful probe this check removes the driver.") end
          if left then return fail("blk_probe succeeded, but after blk_remove the driver still holds " .. left .. ".", { hint = "remove" }) end
          return pass()
        end
        if math.type(ret) ~= "integer" or ret >= 0 then
          return fail("blk_probe should return 0 or a negative errno, got " .. tostring(ret) .. ".")
        end
        if case.busy then
          if ret ~= -EBUSY then return fail("request_irq returned -EBUSY (" .. -EBUSY .. "), but blk_probe returned " .. ret .. ": pass its error on.", { hint = "irq" }) end
        elseif not info.fired then
          return fail("blk_probe returned " .. ret .. " although no allocation failed.")
        elseif ret ~= -ENOMEM then
          return fail("an allocation failed, and blk_probe returned " .. ret .. ": return -ENOMEM (" .. -ENOMEM .. ").")
        end
        if left then
          return fail("blk_probe returned " .. ret .. " but left " .. left .. " behind: the ladder must release every step before the failure.", { hint = "ladder" })
        end
        return pass()
      end,
      hints = {
        "Declare every local first (priv, cache, reqs, ring, ring_dma, status, status_dma, table, err); after each step, `if not x then goto label end` to the label that releases the step before.",
        "The ladder, top to bottom: ::err_vfree:: vfree(table) ::err_unmap:: dma_unmap_single(...) ::err_free_status:: kfree(status) ::err_free_ring:: dma_free_coherent(...) ::err_free_reqs:: free the requests allocated so far, kmem_cache_destroy(cache) ::err_free_priv:: kfree(priv) ::out:: return err",
        ladder = { "A failing step jumps to the label that releases the step just before it; everything below falls through.", "Requests: free only the ones allocated (reqs[i] not nil) before destroying the cache." },
        irq = { "local err = request_irq(dev.irq, blk_irq, 0, \"kmblk\", dev); if err ~= 0 then goto err_vfree end, and return err at the end of the ladder." },
        remove = { "blk_remove undoes all seven steps, in reverse order." },
      },
    },
    task{
      id = "remove", points = 3, expects = "blk_remove", template = "dev",
      boot = MACHINE,
      explain = "Remove is the ladder run from the top: free_irq first so no handler runs, then the table, the status mapping before its buffer, the ring, the requests and their cache, and priv.",
      prompt = "Write blk_remove(dev): release everything blk_probe acquired, in reverse order. This check probes (with your blk_probe), lets the card write its status block through DMA and raise its interrupt, removes, then probes and removes a second time: after each removal nothing of the driver may remain, and no report may appear.",
      cases = function(rng)
        return { { label = "probe, the card's status write and interrupt, remove; probe and remove again", word = rng:int(1, 1 << 30) } }
      end,
      setup = function(case) return new_card(), case end,
      call = function(blk_remove, dev, case)
        local blk_probe = learner_function("blk_probe")
        if not blk_probe then return nil, "define blk_probe too: this check probes the card first." end
        local ret = blk_probe(dev)
        if ret ~= 0 then return nil, "blk_probe returned " .. tostring(ret) .. " on a machine with memory to spare." end
        local ring, status = card_view()
        local ring_ok = ring ~= nil and status ~= nil and string.unpack("<I8", dev:dma_read(ring, 8)) == status
        if status then dev:dma_write(status, string.pack("<I8", case.word)) end
        dev:raise_irq()
        blk_remove(dev)
        local first = held()
        local again = blk_probe(dev)
        if again == 0 then blk_remove(dev) end
        return ring_ok, { first = first, again = again, second = held() }
      end,
      check = function(r)
        local ring_ok, info = r.results[1], r.results[2]
        if ring_ok == nil then return fail(tostring(info)) end
        if type(info) ~= "table" then return fail("the grader could not run your driver.") end
        if not ring_ok then return fail("the ring's first 8 bytes should hold the status block's DMA address (the card reads it there).") end
        if #info.first > 0 then return fail("after blk_remove the driver still holds " .. table.concat(info.first, ", ") .. ".", { hint = "order" }) end
        if info.again ~= 0 then return fail("probing again after blk_remove failed (" .. tostring(info.again) .. "): remove must release everything probe took.") end
        local left = leftovers(r, info.second)
        if left then return fail("after probe and remove, " .. left .. " remained.", { hint = "order" }) end
        return pass()
      end,
      hints = {
        "free_irq(dev.irq, dev) first; then vfree, dma_unmap_single, kfree(status), dma_free_coherent, kmem_cache_free of each request, kmem_cache_destroy, kfree(priv).",
        order = { "Every step of probe has its release in blk_remove, in reverse order; the status block is unmapped before it is freed." },
      },
    },
  },
}
