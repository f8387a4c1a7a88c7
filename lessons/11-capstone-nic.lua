-- Lesson 11: capstone, a small NIC driver graded end to end. Vocabulary: lessons/README.md.

local RING, DESC, MIN_BUF = 8, 16, 1536
local IRQ = 19

-- The frames the card receives: a header the checks can read ("frame 007
-- from 10.0.0.9 "), then bytes and a length no driver can predict, from a
-- generator of the grader's own (math.random's state is shared with the
-- learner's code). Only a driver that really takes frames off the ring can
-- hand them to the user program.
local frame_seed = 0x6b6d6e6963
local frame_cache = {}

local function next_random(x)
  -- xorshift64 on Lua's 64-bit integers
  x = x ~ (x << 13)
  x = x ~ (x >> 7)
  x = x ~ (x << 17)
  return x
end

-- Chooses the frames of this case (from its secret seed).
local function use_frames(case)
  if type(case) == "table" and math.type(case.frame_seed) == "integer" then
    frame_seed = case.frame_seed
    frame_cache = {}
  end
end

local function packet(i)
  local cached = frame_cache[i]
  if cached then return cached end
  local x = next_random(frame_seed ~ (i * 0x9e3779b97f4a7c15))
  local body = string.format("frame %03d from 10.0.0.%d ", i, i % 250 + 2)
  x = next_random(x)
  local len = 60 + (x >> 8) % 1455            -- 60..1514 bytes, as Ethernet frames
  local bytes = {}
  for k = 1, len - #body do
    x = next_random(x)
    bytes[k] = string.char(32 + (x >> 20) % 95)
  end
  cached = body .. table.concat(bytes)
  frame_cache[i] = cached
  return cached
end

-- The DMA mappings dma-debug still tracks for the card (its debugfs dump):
-- the grader's way to see what the driver mapped and what it undid.
local function card_mappings()
  local out = {}
  for line in proc("/sys/kernel/debug/dma-api/dump"):gmatch("[^\n]+") do
    local kind, dma, size, dir = line:match("^kmnic %S+ (%S+) idx %d+ P=%S+ D=(%x+) L=(%x+) cln=%S+ (%S+)")
    if kind then
      out[#out + 1] = { kind = kind, dma = tonumber(dma, 16), size = tonumber(size, 16), dir = dir }
    end
  end
  return out
end

-- Kernel objects allocated minus freed so far (kmalloc calls that fail count
-- as allocations, so only meaningful where no allocation fails).
local function kmalloc_balance()
  local s = stats()
  return s.kmallocs - s.kfrees
end

-- The simulated card, played by the grader: it reads the descriptor the
-- driver owns next; if that slot has a buffer and is empty (len 0), it
-- writes the frame into the buffer through physical memory, stores the
-- length and raises its interrupt. Otherwise the frame is lost (the card
-- counts it) and the card stays on that slot.
local function card(dev, ring_dma)
  local hw = { next = 0, missed = 0 }
  function hw.send(pkt)
    local desc = ring_dma + hw.next * DESC
    local raw = dev:dma_read(desc, 16)
    local dma, size, len = string.unpack("<I4I4I4", raw)
    if len ~= 0 or dma == 0 or size < #pkt then
      hw.missed = hw.missed + 1
      return false
    end
    dev:dma_write(dma, pkt)
    dev:dma_write(desc + 8, string.pack("<I4", #pkt))
    hw.next = (hw.next + 1) % RING
    dev:raise_irq()
    return true
  end
  return hw
end

-- Memory pressure (as in lesson 6): every page GFP_KERNEL and then
-- GFP_ATOMIC can get, and every free object left in the kmalloc-2k slabs
-- (frames freed by nic_read would otherwise feed the handler).
-- The pages go in the largest blocks the buddy allocator still has, then
-- smaller ones down to single pages: the same pages in all, in a few
-- hundred calls instead of one per page of the machine.
local function squeeze()
  local hog = { pages = {}, orders = {}, objects = {} }
  for _, gfp in ipairs({ GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN, GFP_ATOMIC | __GFP_NOWARN }) do
    for order = 10, 0, -1 do
      while true do
        local p = __get_free_pages(gfp, order)
        if not p then break end
        hog.pages[#hog.pages + 1] = p
        hog.orders[#hog.pages] = order
      end
    end
  end
  while true do
    local p = kmalloc(2048, GFP_ATOMIC | __GFP_NOWARN)
    if not p then break end
    hog.objects[#hog.objects + 1] = p
  end
  return hog
end

local function release(hog)
  for i = 1, #hog.objects do kfree(hog.objects[i]) end
  for i = 1, #hog.pages do free_pages(hog.pages[i], hog.orders[i]) end
end

local function new_card()
  return pci_device{ name = "kmnic", irq = IRQ, dma_mask_bits = 32 }
end

-- Fault injection, as lib/fault-inject.c does it: from now on the nth
-- allocation of `kind` ("failslab": kmalloc; "fail_page_alloc": the page
-- allocator) fails, once (times 1), GFP_KERNEL ones too (ignore-gfp-wait N),
-- quietly (verbose 0). Written through debugfs before the learner's call.
local function fail_nth(kind, nth)
  local dir = "/sys/kernel/debug/" .. kind .. "/"
  write(dir .. "ignore-gfp-wait", "N")   -- the default (Y) spares GFP_KERNEL
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

local function ordinal(n)
  local suffix = (n % 100 >= 11 and n % 100 <= 13) and "th" or ({ "st", "nd", "rd" })[n % 10] or "th"
  return n .. suffix
end

-- Runs the learner's probe; returns the ring's DMA address or nil and why.
local function probe(nic_probe, dev)
  local ring = nic_probe(dev)
  if math.type(ring) ~= "integer" or ring <= 0 then
    return nil, "nic_probe should return the ring's DMA address, got " .. tostring(ring) .. "."
  end
  return ring
end

local function read_all(ubuf, max)
  local got = {}
  for _ = 1, max do
    local n = user.syscall("nic_read", ubuf, 2048)
    if n < 0 then got.last = n break end
    got[#got + 1] = user.peek(ubuf, n)
  end
  return got
end

return lesson{
  id = "11-capstone-nic",
  title = "Capstone: a network driver under pressure",
  text = [[
# Capstone: a network driver under pressure

Time to put the course together. You will write the receive path of a
small network card driver, kmnic, and the grader will run it the way a
busy machine would: probe, a stream of frames, a user program reading
them, memory running out in the middle of it, and removal. Everything
counts: contexts (lesson 5), failing allocations (6), DMA (7), user space
(10), and leaks (1).

kmlab ships a driver of the same shape: `kmlab example nic` prints it,
`kmlab example nic --write` puts `nic.lua` in the current directory --
read it, run it (`kmlab run nic.lua`), break it. It does not handle
memory pressure; yours must.

## The hardware

The card is a PCI device, `pci_device{name="kmnic", irq=19, dma_mask_bits=32}`,
which the grader creates and passes to your probe. It receives into a
ring of 8 descriptors in memory that both you and the card read and
write. Each descriptor is 16 bytes, little-endian 32-bit fields:

    offset 0   DMA address of a receive buffer (0: no buffer)
    offset 4   size of that buffer (at least 1536 bytes)
    offset 8   length of the frame received (0: empty, the card may fill it)
    offset 12  unused

    poke(ring + i * 16, string.pack("<I4I4I4I4", dma, 2048, 0, 0))   -- give slot i a buffer
    local len = string.unpack("<I4", peek(ring + i * 16 + 8, 4))      -- did the card fill it?

The card fills slots in order 0, 1, ..., 7, 0, ... For each frame it reads
the next descriptor; if the slot has a buffer and its length is 0, it
writes the frame into the buffer (through physical memory: no MMU),
stores the length and raises irq 19. If the slot has no buffer, or still
holds an unprocessed frame, the frame is lost and the card stays on that
slot. Your probe returns the ring's DMA address; the grader programs it
into the card (the ring-base register a real card would have).

## What you write

- `nic_probe(dev)`, process context (insmod): allocate the ring with
  `dma_alloc_coherent`, give each slot a 2048-byte buffer from kmalloc
  mapped with `dma_map_single(..., DMA_FROM_DEVICE)` (check
  `dma_mapping_error`), `request_irq(dev.irq, your_handler, 0, "kmnic", dev_id)`,
  and return the ring's DMA address (a negative errno on failure, after
  freeing what you allocated).
- your interrupt handler (a local function of yours), hardirq context: for
  each slot the card filled, from where you left off, unmap the buffer and
  queue it (buffer and length) for `nic_read`, then give the slot a fresh
  buffer -- `GFP_ATOMIC`. When that fails, choose: drop the frame and
  reuse its buffer, or queue it and leave the slot without a buffer for a
  work item (`schedule_work`) to refill with GFP_KERNEL. Either way the
  ring must come back to 8 buffers once memory is available again. Return
  IRQ_HANDLED (IRQ_NONE if no slot was filled).
- `nic_read(ubuf, n)`, the body of a read() syscall, process context of
  the user program: take the oldest queued frame (under a lock the handler
  takes too: `spin_lock_irqsave`), copy min(n, length) bytes to user space
  *after* releasing the lock, free the buffer, return the bytes copied;
  `-EAGAIN` if nothing is queued, `-EFAULT` if the copy fails.
- `nic_remove(dev)`, process context: `free_irq`, `flush_scheduled_work()`
  (no work item may run after the driver is gone), unmap and free every
  buffer, queued frames included, and `dma_free_coherent` the ring.
  After it nothing of yours may remain allocated.

Keep the driver's state in a local table at the top of your answers file
(`local nic = {}`); every check loads your file afresh. Put your handler
(and any helper) above `nic_probe` in the file: a Lua local is visible
only below its definition. The grader registers `nic_read` as the syscall
itself (`SYSCALL_DEFINE("nic_read", ...)`) and plays the user program.

## How it is graded

`probe` runs your probe alone and inspects the ring as the card sees it.
`receive` sends bursts of frames (the ring wraps around) and reads them
back through the syscall with buffers of several sizes, on several
machines. `pressure` runs the whole story on 64 MiB machines of both
architectures: a few frames read back; then memory is exhausted
(GFP_ATOMIC fails) while more frames arrive than the ring holds; the user
program reads what got through; the pressure eases, pending work runs;
up to 8 more frames must all arrive; a few more arrive that nobody reads;
then `nic_remove`, and the machine must be as it was. How many frames
come at each step is drawn for each learner. Kernel reports fail a check (allocation-failure
warnings excepted: pass __GFP_NOWARN anyway).

Simplifications: one receive queue, no transmit path, no NAPI polling
(real drivers switch to polling under load), no sk_buffs: the frames are
plain kmalloc buffers.
]],
  exercises = {
    question{
      id = "contexts", points = 1,
      explain = "Probe, the refill work item and the syscall run in process context and may sleep (GFP_KERNEL); only the handler runs with interrupts off (GFP_ATOMIC), and copy_to_user() may fault and sleep, so it runs outside the spinlock.",
      prompt = "Which flags belong where in this driver?",
      answer = choice{
        "GFP_ATOMIC everywhere: the driver can be interrupted at any time, so none of it may sleep",
        "GFP_KERNEL in probe and the refill work; GFP_ATOMIC in the handler; copy to user outside the lock",
        "GFP_KERNEL everywhere, always under the spinlock, so that the interrupt handler cannot interfere",
        "GFP_ATOMIC in probe, which runs before request_irq; GFP_KERNEL in the handler, as interrupts are off",
      correct = 2 },
      feedback = {
        a = "Being interruptible does not make process context atomic: probe, work items and syscalls may sleep, and should use GFP_KERNEL.",
        c = "Under a spinlock nothing may sleep: GFP_KERNEL there is the sleeping-in-atomic BUG, and so is copy_to_user.",
        d = "Probe runs in process context (insmod): GFP_KERNEL there. The handler is the one place that may not sleep: GFP_ATOMIC.",
      },
      hints = { "Lesson 5: which of probe, the handler, the work item and the syscall run in process context?" },
    },
    task{
      id = "probe", points = 3, expects = "nic_probe", template = "dev",
      explain = "The ring and its mapped buffers must exist before the interrupt is requested, and every step that fails undoes the ones before it, so a failed probe leaves nothing behind.",
      prompt = "Write nic_probe(dev) (see the lesson text): ring, 8 mapped receive buffers, the interrupt handler, and the ring's DMA address as the result. This check first probes while another driver holds the card's interrupt line (request_irq fails: probe must return the error and leave nothing allocated or mapped), then probes again with the line free, and reads the ring as the card would. Other cases make one of probe's buffer allocations fail (fault injection: the Nth kmalloc fails): probe must return -ENOMEM and leave nothing allocated, mapped or requested.",
      allow_reports = { "allocation-failure" },
      -- The busy line, then failures injected into the probe's kmallocs: the
      -- first and last buffer and one in between. (Not the ring's pages:
      -- fail_page_alloc's first failure may be an allocation the kernel
      -- retries itself, such as a new slab's optimistic high order.)
      cases = function(rng)
        return {
          { label = "the card's irq line held by another driver" },
          { fault = "failslab", nth = 1, label = "the 1st kmalloc failing (failslab)" },
          { fault = "failslab", nth = RING, label = "the " .. ordinal(RING) .. " kmalloc failing (failslab)" },
          (function() local n = rng:int(2, RING - 1) return { fault = "failslab", nth = n, label = "the " .. ordinal(n) .. " kmalloc failing (failslab)" } end)(),
        }
      end,
      setup = function(case) return new_card(), case end,
      call = function(nic_probe, dev, case)
        if case.fault then
          -- Only the failing probe: what the call leaves allocated is what it leaked.
          fail_nth(case.fault, case.nth)
          local failed = nic_probe(dev)
          local fired = fault_fired(case.fault)
          return nil, { fault = true, fired = fired, returned = failed, mappings = #card_mappings(),
                        irq = proc("/proc/interrupts"):find("kmnic", 1, true) ~= nil }
        end
        -- The failure path: the line is taken, so request_irq fails.
        local busy = {}
        request_irq(IRQ, function() return IRQ_NONE end, 0, "other-driver", busy)
        local balance = kmalloc_balance()
        local failed = nic_probe(dev)
        local after_failure = { returned = failed, objects = kmalloc_balance() - balance, mappings = #card_mappings() }
        free_irq(IRQ, busy)
        return nic_probe(dev), after_failure, card_mappings()
      end,
      check = function(r)
        local ring, after_failure, mappings = r.results[1], r.results[2], r.results[3]
        local dev = r.args[1]
        if type(after_failure) == "table" and after_failure.fault then
          local f = after_failure
          if not f.fired then
            if math.type(f.returned) == "integer" and f.returned > 0 then return pass() end   -- it made fewer such allocations
            return fail("nic_probe failed (returned " .. tostring(f.returned) .. ") although no allocation failed.")
          end
          if f.returned ~= -ENOMEM then
            return fail("an allocation failed, but nic_probe returned " .. tostring(f.returned) .. ": return -ENOMEM (" .. -ENOMEM .. ") when the ring or a buffer cannot be allocated.", { hint = "unwind" })
          end
          if #r.allocated > 0 or f.mappings > 0 or f.irq then
            return fail("nic_probe returned -ENOMEM but left " .. #r.allocated .. " allocation(s) and " .. f.mappings .. " DMA mapping(s) behind" .. (f.irq and ", and its interrupt requested" or "") .. ": a failing probe undoes everything it did before the failure, in reverse order.", { hint = "unwind" })
          end
          if #r.freed_foreign > 0 then return fail("nic_probe freed memory it did not allocate.") end
          return pass()
        end
        if type(after_failure) ~= "table" or type(mappings) ~= "table" then return fail("the grader could not run your function") end
        local f = after_failure.returned
        if math.type(f) ~= "integer" or f >= 0 then
          return fail("while another driver held irq " .. IRQ .. ", request_irq failed, but nic_probe returned " .. tostring(f) .. ": return the negative errno request_irq gave you.")
        end
        if after_failure.mappings ~= 0 or after_failure.objects ~= 0 then
          return fail("when request_irq failed, nic_probe returned " .. f .. " but left " .. after_failure.objects .. " kmalloc'ed object(s) and " .. after_failure.mappings .. " DMA mapping(s) behind (ring or buffers): a failing probe undoes everything it did, in reverse order.", { hint = "unwind" })
        end
        if math.type(ring) ~= "integer" or ring <= 0 then return fail("nic_probe should return the ring's DMA address, got " .. tostring(ring) .. ".") end
        local ok, raw = pcall(dev.dma_read, dev, ring, RING * DESC)
        if not ok then return fail("the card cannot read a ring at the address nic_probe returned.") end
        local mapped = {}
        for _, m in ipairs(mappings) do
          if m.kind == "single" and m.dir == "DMA_FROM_DEVICE" then mapped[m.dma] = m.size end
        end
        local seen = {}
        for i = 0, RING - 1 do
          local dma, size, len = string.unpack("<I4I4I4", raw, i * DESC + 1)
          if dma == 0 then return fail("slot " .. i .. " has no buffer (DMA address 0).") end
          if size < MIN_BUF then return fail("slot " .. i .. " has a " .. size .. "-byte buffer; frames can be 1514 bytes: at least 1536.") end
          if len ~= 0 then return fail("slot " .. i .. " should be empty (length 0) so that the card may fill it; it holds " .. len .. ".") end
          if seen[dma] then return fail("slots share a buffer (DMA address " .. string.format("0x%x", dma) .. ").") end
          if not mapped[dma] or mapped[dma] < size then
            return fail(string.format("slot %d's DMA address 0x%x is not a buffer of %d bytes mapped with dma_map_single(..., DMA_FROM_DEVICE): the card would write into memory that is not yours.", i, dma, size))
          end
          seen[dma] = true
        end
        if not proc("/proc/interrupts"):find("kmnic", 1, true) then return fail("no \"kmnic\" line in /proc/interrupts: request_irq(dev.irq, handler, 0, \"kmnic\", dev_id).") end
        return pass()
      end,
      hints = {
        "local cpu, dma = dma_alloc_coherent(dev, 8 * 16, GFP_KERNEL) for the ring; then for each slot kmalloc(2048, GFP_KERNEL), dma_map_single(dev, buf, 2048, DMA_FROM_DEVICE), poke the descriptor.",
        "Write the descriptor with poke(ring_cpu + i * 16, string.pack(\"<I4I4I4I4\", buf_dma, 2048, 0, 0)); return ring_dma at the end. If request_irq returns an error, unmap and kfree the buffers, dma_free_coherent the ring, and return that error.",
        unwind = {
          "When request_irq fails, probe must undo what it did before returning the error: every buffer it mapped and allocated, and the ring.",
          "local err = request_irq(dev.irq, handler, 0, \"kmnic\", nic); if err ~= 0 then for each slot: dma_unmap_single + kfree; dma_free_coherent(dev, 8 * 16, ring_cpu, ring_dma); return err end",
        },
      },
    },
    task{
      id = "receive", points = 3, expects = "nic_read", template = "ubuf, n",
      explain = "The handler takes each filled descriptor in ring order, unmaps its buffer before the CPU reads it and gives the slot a fresh buffer, so every frame the card wrote reaches nic_read.",
      allow_reports = { "allocation-failure" },
      prompt = "Write nic_read(ubuf, n) and your interrupt handler (see the lesson text). This check probes, then the card sends bursts of 1 to 8 frames, more than 8 in all (the ring wraps around), and after each burst the user program reads until nic_read returns -EAGAIN, with buffers of various sizes n (a frame longer than n: its first n bytes, and the frame is consumed). It runs on several machines, and counts the kernel objects your driver holds before and after.",
      -- Per case (a machine of each architecture and an aged one): the
      -- frames' bytes from the grader's secret, burst sizes and read sizes
      -- drawn per learner. The grader plays the card (frames arrive only
      -- through the ring it reads), reads what arrived in user memory, the
      -- card's drop count, and the driver's kernel objects (a read that does
      -- not free its frame leaks one per frame).
      cases = function(rng)
        local list = {}
        local machines = { { arch = "x86_32" }, { arch = "x86_64" }, { arch = "x86_32", fragmented = true, seed = rng:int(1, 1 << 30) } }
        for i, m in ipairs(machines) do
          local bursts, total = {}, 0
          repeat
            local k = rng:int(1, RING)
            bursts[#bursts + 1] = { frames = k, n = rng:pick({ 2048, rng:int(1514, 2048), rng:int(1, 200) }) }
            total = total + k
          until total > RING + 2 and #bursts >= 3
          local label = "the card's frames on " .. (m.fragmented and "an aged " or "a fresh ") .. m.arch .. " machine (bursts of " .. table.concat((function() local t = {} for j, b in ipairs(bursts) do t[j] = b.frames end return t end)(), ", ") .. ")"
          list[i] = { boot = m, frame_seed = rng:int(1, 1 << 48), bursts = bursts, label = label }
        end
        return list
      end,
      setup = function(case) use_frames(case) return new_card(), case.bursts end,
      call = function(nic_read, dev, bursts)
        local nic_probe = learner_function("nic_probe")
        if not nic_probe then return nil, "define nic_probe too: this check probes the card first." end
        local ring, why = probe(nic_probe, dev)
        if not ring then return nil, why end
        SYSCALL_DEFINE("nic_read", function(ubuf, n) return nic_read(ubuf, n) end)
        local hw = card(dev, ring)
        local ubuf = user.malloc(2048)
        local held = kmalloc_balance()
        local story, sent = { bursts = {} }, 0
        for b, burst in ipairs(bursts) do
          local first = sent + 1
          for _ = 1, burst.frames do sent = sent + 1; hw.send(packet(sent)) end
          local got = { first = first, frames = burst.frames, n = burst.n }
          for _ = 1, burst.frames + 1 do
            local ret = user.syscall("nic_read", ubuf, burst.n)
            if math.type(ret) ~= "integer" or ret < 0 then got.last = ret break end
            got[#got + 1] = { ret = ret, bytes = user.peek(ubuf, math.min(ret, 2048)) }
          end
          story.bursts[b] = got
          story.missed = hw.missed
          if hw.missed ~= 0 then break end
        end
        story.grown = kmalloc_balance() - held
        return story
      end,
      check = function(r)
        local story, why = r.results[1], r.results[2]
        if story == nil then return fail(tostring(why)) end
        if type(story) ~= "table" or type(story.bursts) ~= "table" then return fail("the grader could not run your driver") end
        if story.missed ~= 0 then
          return fail("the card dropped " .. tostring(story.missed) .. " frame(s): the slot it came to had no buffer, or still held a frame your handler had not taken. Every burst fits in the ring, and the frames a read returns must be the ones the card wrote through DMA.")
        end
        for _, got in ipairs(story.bursts) do
          if type(got) ~= "table" then return fail("the grader could not run your driver") end
          local sent = string.format("a burst of %d frame(s) (frames %d to %d)", got.frames, got.first, got.first + got.frames - 1)
          for j = 1, got.frames do
            local i = got.first + j - 1
            local want = packet(i):sub(1, got.n)
            local g = got[j]
            if g == nil then
              return fail(sent .. ": read " .. j .. " with n = " .. got.n .. " should return frame " .. i .. (got.last and (", got " .. tostring(got.last)) or "") .. ".")
            end
            if g.ret ~= #want or g.bytes ~= want then
              if g.ret == #want then return fail(sent .. ": read " .. j .. " returned " .. g.ret .. " but the user buffer does not hold frame " .. i .. "'s bytes.") end
              return fail(sent .. ": read " .. j .. " with n = " .. got.n .. " should copy " .. #want .. " bytes of frame " .. i .. " (" .. #packet(i) .. " bytes) and return " .. #want .. ", got " .. tostring(g.ret) .. ".")
            end
          end
          if #got ~= got.frames or got.last ~= -EAGAIN then
            return fail(sent .. ": after its " .. got.frames .. " frame(s), nic_read should return -EAGAIN, got " .. tostring(got.last or (got[got.frames + 1] and got[got.frames + 1].ret)) .. ".")
          end
        end
        if math.type(story.grown) == "integer" and story.grown ~= 0 then
          return fail("after every frame was read, your driver holds " .. story.grown .. " kernel object(s) more than before the first frame: free each frame's buffer once nic_read has copied it (the ring keeps one buffer per slot, no more).")
        end
        return pass()
      end,
      hints = {
        "The handler: while the slot at nic.next has a length > 0, dma_unmap_single its buffer, append {buf, len} to a queue, refill the slot, advance nic.next.",
        "nic_read: local flags = spin_lock_irqsave(lock); local pkt = table.remove(queue, 1); spin_unlock_irqrestore(lock, flags); then copy_to_user(ubuf, pkt.buf, math.min(n, pkt.len)) and kfree(pkt.buf).",
      },
    },
    task{
      id = "pressure", points = 5, expects = "nic_remove", template = "dev",
      explain = "When GFP_ATOMIC fails, the ring is kept usable (reuse the buffer or refill later from a work item with GFP_KERNEL); remove frees the irq first, so no handler runs, then unmaps and frees everything.",
      boot = { ram = "64M" },
      -- Per case (both architectures, 64 MiB): how many frames before the
      -- pressure, during it, after it, and left unread at removal, drawn per
      -- learner, so the pressure comes at a different point of the ring.
      allow_reports = { "allocation-failure" },
      prompt = "Write nic_remove(dev) (see the lesson text). This check runs the whole driver on 64 MiB machines of both architectures: probe, a few frames read back, more frames than the ring holds while memory is exhausted (read what got through), the pressure eases and pending work runs, up to 8 more frames which must all arrive, a few frames nobody reads, then nic_remove: nothing of yours may remain allocated.",
      -- The frames' bytes come from the grader's secret (the case generator's
      -- seed): no learner can predict them, only receive them.
      cases = function(rng)
        local list = {}
        for i, arch in ipairs({ "x86_32", "x86_64" }) do
          local plan = { calm = rng:int(1, RING), storm = rng:int(RING + 1, 2 * RING), after = rng:int(2, RING), unread = rng:int(0, RING - 1) }
          local label = string.format("the card's frames on a 64 MiB %s machine (%d calm, %d under pressure, %d after, %d unread)", arch, plan.calm, plan.storm, plan.after, plan.unread)
          list[i] = { boot = { arch = arch, ram = "64M" }, frame_seed = rng:int(1, 1 << 48), plan = plan, label = label }
        end
        return list
      end,
      setup = function(case) use_frames(case) return new_card(), case.plan end,
      call = function(nic_remove, dev, plan)
        local nic_probe, nic_read = learner_function("nic_probe"), learner_function("nic_read")
        if not nic_probe or not nic_read then return nil, "define nic_probe and nic_read too: this check runs the whole driver." end
        local ring, why = probe(nic_probe, dev)
        if not ring then return nil, why end
        SYSCALL_DEFINE("nic_read", function(ubuf, n) return nic_read(ubuf, n) end)
        local hw = card(dev, ring)
        local ubuf = user.malloc(2048)
        local story = {}
        local calm, storm, after = plan.calm, plan.calm + plan.storm, plan.calm + plan.storm + plan.after
        story.plan = plan
        for i = 1, calm do hw.send(packet(i)) end
        story.calm = read_all(ubuf, calm + 1)
        story.missed_calm = hw.missed
        local hog = squeeze()
        for i = calm + 1, storm do hw.send(packet(i)) end
        story.storm = read_all(ubuf, plan.storm + 1)
        release(hog)
        flush_scheduled_work()
        local missed_before = hw.missed
        for i = storm + 1, after do hw.send(packet(i)) end
        story.after = read_all(ubuf, plan.after + 1)
        story.missed_after = hw.missed - missed_before
        story.missed = hw.missed
        for i = after + 1, after + plan.unread do hw.send(packet(i)) end   -- still queued at removal
        nic_remove(dev)
        user.free(ubuf)
        -- After remove: the line must be free for another driver, and
        -- dma-debug must track no mapping of the card's any more.
        local other = {}
        story.irq_free = request_irq(IRQ, function() return IRQ_NONE end, 0, "next-driver", other) == 0
        if story.irq_free then free_irq(IRQ, other) end
        story.mappings_left = card_mappings()
        return story
      end,
      check = function(r)
        local story, why = r.results[1], r.results[2]
        if story == nil then return fail(tostring(why)) end
        if type(story) ~= "table" or type(story.calm) ~= "table" or type(story.storm) ~= "table" or type(story.after) ~= "table" then
          return fail("the grader could not run your driver")
        end
        local plan = r.case.plan
        local calm, storm = plan.calm, plan.calm + plan.storm
        if story.missed_calm ~= 0 then
          return fail("before the pressure the card dropped " .. tostring(story.missed_calm) .. " of " .. calm .. " frames: its ring slots had no buffer or were never given back.")
        end
        for i = 1, calm do
          if story.calm[i] ~= packet(i) then return fail("before the pressure, read " .. i .. " should return frame " .. i .. ".") end
        end
        if #story.calm ~= calm then return fail("before the pressure, " .. calm .. " frames were sent; " .. #story.calm .. " were read.") end
        local last = calm
        for _, f in ipairs(story.storm) do
          local n = type(f) == "string" and tonumber(f:match("^frame (%d+)"))
          if not n or n <= last or n > storm or f ~= packet(n) then
            return fail("during the pressure, a read returned something other than the next frame that got through (frames must arrive intact and in order).")
          end
          last = n
        end
        if #story.after ~= plan.after then
          return fail("after the pressure eased, " .. plan.after .. " frames were sent and " .. #story.after .. " arrived (the card lost " .. tostring(story.missed) .. " frames in all): the ring must be back to 8 buffers once memory is available -- refill from a work item with GFP_KERNEL, or reuse the buffer of a dropped frame.")
        end
        for i = 1, plan.after do
          if story.after[i] ~= packet(storm + i) then return fail("after the pressure eased, read " .. i .. " should return frame " .. (storm + i) .. ".") end
        end
        if story.missed_after ~= 0 then
          return fail("after the pressure eased the card still dropped " .. tostring(story.missed_after) .. " frame(s): the ring must be back to 8 buffers once memory is available.")
        end
        if story.irq_free ~= true then
          return fail("after nic_remove, irq " .. IRQ .. " is still taken: free_irq(dev.irq, dev_id) with the dev_id you gave request_irq, or the next driver cannot use the line (and your handler may run after your memory is gone).", { hint = "remove" })
        end
        if type(story.mappings_left) == "table" and #story.mappings_left > 0 then
          local m = story.mappings_left[1]
          return fail(string.format("after nic_remove, dma-debug still tracks %d mapping(s) of the card (the first: %s, 0x%x, %d bytes): dma_unmap_single every buffer still in the ring before kfree, and dma_free_coherent the ring.", #story.mappings_left, tostring(m.kind), m.dma or 0, m.size or 0), { hint = "remove" })
        end
        if #r.allocated ~= 0 then
          return fail("after nic_remove, " .. #r.allocated .. " allocation(s) of the driver remain: free every buffer (in the ring and queued), and the ring itself.")
        end
        if #r.freed_foreign ~= 0 then
          return fail("your driver freed " .. #r.freed_foreign .. " allocation(s) it did not make: a driver frees only what it allocated.")
        end
        return pass(#story.storm .. " of the " .. plan.storm .. " frames sent under pressure got through.")
      end,
      hints = {
        "When GFP_ATOMIC fails in the handler, either keep the frame's buffer in the slot (drop the frame: just set its length back to 0 and do not unmap it), or queue the frame, zero the descriptor and schedule_work a refill that uses GFP_KERNEL.",
        "nic_remove: free_irq(dev.irq, dev_id); flush_scheduled_work(); for each slot with a buffer dma_unmap_single + kfree; kfree every queued frame; dma_free_coherent(dev, 8 * 16, ring_cpu, ring_dma).",
        remove = {
          "nic_remove undoes probe in reverse: free_irq(dev.irq, dev_id) first (with the dev_id you gave request_irq), so the handler cannot run; then every mapping, then the memory.",
          "for each slot with a buffer: dma_unmap_single(dev, dma, 2048, DMA_FROM_DEVICE) then kfree(buf); kfree each queued frame; dma_free_coherent the ring. cat(\"/sys/kernel/debug/dma-api/dump\") lists the mappings still live.",
        },
      },
    },
  },
}
