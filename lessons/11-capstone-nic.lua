-- Lesson 11: the capstone, a small NIC driver graded end to end.
-- Vocabulary: lessons/README.md.

local RING, DESC, BUF = 4, 16, 2048

-- The simulated network card: reads the next descriptor of the ring
-- ({u32 dma, u32 size, u32 len, u32 pad}, little-endian) at bus address
-- ring_dma, writes the packet to the buffer it names, stores the length,
-- raises its interrupt. A slot without a buffer (dma 0 or size too small)
-- makes the card drop the packet, as real hardware does.
local function new_card(dev, ring_dma)
  local card = { next = 0, dropped = 0 }
  function card.wire(packet)
    local desc = ring_dma + card.next * DESC
    local dma, size = string.unpack("<I4I4", dev:dma_read(desc, 8))
    card.next = (card.next + 1) % RING
    if dma == 0 or size < #packet then
      card.dropped = card.dropped + 1
      return
    end
    dev:dma_write(dma, packet)
    dev:dma_write(desc + 8, string.pack("<I4", #packet))
    dev:raise_irq()
  end
  return card
end

-- Takes (almost) all free memory, GFP_ATOMIC's reserve included; returns
-- what it took so that it can be given back.
local function squeeze()
  local held = {}
  for order = MAX_PAGE_ORDER, 0, -1 do
    while true do
      local a = __get_free_pages(__GFP_NOWARN, order)
      if not a then break end
      held[#held + 1] = { a, order }
    end
  end
  while true do
    local p = kmalloc(BUF, GFP_ATOMIC | __GFP_NOWARN)
    if not p then break end
    held[#held + 1] = { p }
  end
  return held
end

local function release(held)
  for i = #held, 1, -1 do
    local h = held[i]
    if h[2] then free_pages(h[1], h[2]) else kfree(h[1]) end
  end
end

local function packet(n) return string.format("frame %02d from 10.0.0.2 ", n) .. string.rep(string.char(65 + n % 26), 40 + n) end

return lesson{
  id = "11-capstone-nic",
  title = "Capstone: a small network driver, end to end",
  text = [[
# Capstone: tinynic

Everything so far in one small driver for a simulated network card. It is
graded end to end: the grader plays the card and a user program, sends a
stream of packets, squeezes memory in the middle, reads the packets back
through your syscall, removes the driver and counts what is left.

## The card

The card receives into a ring of 4 descriptors that the driver keeps in
memory shared with it. Each descriptor is 16 bytes, little-endian:

    offset 0  u32  bus (DMA) address of a receive buffer
    offset 4  u32  size of that buffer (2048)
    offset 8  u32  length of the packet received into it (the card writes it)
    offset 12 u32  unused

For each packet the card takes the next descriptor (0, 1, 2, 3, 0, ...),
writes the packet to the buffer by DMA, stores its length, and raises its
interrupt line. If the descriptor has no buffer (dma = 0) or one that is too
small, the card drops the packet.

## Your driver

Define a function `tinynic()` that returns a table of four functions:

* `probe(dev)`, process context: allocate the descriptor ring so that the
  card can read it for the driver's whole life (`dma_alloc_coherent`), give
  every descriptor a receive buffer mapped for the device
  (kmalloc + `dma_map_single(..., DMA_FROM_DEVICE)`, checked with
  `dma_mapping_error`), install the interrupt handler on `dev.irq`
  (`request_irq`), and return the ring's DMA address (or a negative errno).
* the interrupt handler (hardirq context): take the received packet out of
  its slot (unmap the buffer; the packet now belongs to the driver's receive
  queue), and put a fresh buffer in the slot -- with GFP_ATOMIC, because a
  handler cannot sleep. When that allocation fails (it will: memory gets
  squeezed), drop the packet instead and give the slot its old buffer back.
  Never leave a slot empty for long, never sleep, never print warnings for
  failures you handle.
* `recv(ubuf, n)`, the handler of a syscall from the user program: copy the
  oldest queued packet (at most n bytes) to the user buffer with
  `copy_to_user`, free it, and return its length; `-EAGAIN` if the queue is
  empty, `-EFAULT` if the copy fails. A spinlock shared with the interrupt
  handler protects the queue (`spin_lock_irqsave` here, since the handler
  may interrupt the syscall); copy_to_user may sleep, so do it after
  unlocking.
* `remove(dev)`: free the irq, unmap and free every buffer, free the queue's
  packets and the ring. Nothing may be left: the grader counts allocations.

`examples/nic.lua` in the kmlab repository is a driver much like this one,
without the memory-pressure part; reading it is allowed.

## How it is graded (10 points)

* 3: probe works and the first packets reach the user program intact, in
  order;
* 3: under memory pressure the driver survives, and after the pressure ends
  packets flow again;
* 2: no kernel report at any point (sleeping in atomic context, DMA-API
  misuse, KASAN, allocation-failure warnings);
* 2: after remove nothing is left allocated and the irq is free.

A Lua error or a kernel Oops anywhere ends the run: 0 points, with the
message.

Start with `kmlab lesson 11 --template > a11.lua`.
]],
  exercises = {
    question{
      id = "ring_memory", points = 1,
      prompt = "The descriptor ring is read and written by both the CPU and the card for the driver's whole life. Which allocation fits it best?",
      answer = choice{ "vmalloc", "kmalloc + dma_map_single for each transfer", "dma_alloc_coherent", "a user buffer", correct = 3 },
      feedback = {
        a = "The card cannot follow vmalloc's scattered pages (lesson 7).",
        b = "Streaming mappings are for one transfer at a time; shared, long-lived structures use a coherent allocation.",
      },
      hints = { "Lesson 7: streaming or coherent?" },
    },
    question{
      id = "irq_refill", points = 1,
      prompt = "Which flags does the interrupt handler use to allocate the replacement buffer? (the constant or its name)",
      answer = exact(GFP_ATOMIC | __GFP_NOWARN),
      accept = { GFP_ATOMIC, "GFP_ATOMIC", "GFP_ATOMIC | __GFP_NOWARN", "GFP_ATOMIC|__GFP_NOWARN" },
      feedback = { [GFP_KERNEL] = "GFP_KERNEL may sleep: not in an interrupt handler (lesson 5).", ["GFP_KERNEL"] = "GFP_KERNEL may sleep: not in an interrupt handler (lesson 5)." },
      hints = { "Lessons 5 and 6." },
    },
    task{
      id = "driver", points = 10, expects = "tinynic", template = "",
      allow_reports = true, max_instructions = 5000000,
      prompt = "Write tinynic(): return { probe = function(dev) ... end, recv = function(ubuf, n) ... end, remove = function(dev) ... end } (the interrupt handler is yours to install in probe). See the lesson text for the card and what each function does.",
      call = function(tinynic)
        local t = { received = {}, sent = {}, phase = {} }
        local drv = tinynic()
        if type(drv) ~= "table" then return t end
        local probe, recv, remove = rawget(drv, "probe"), rawget(drv, "recv"), rawget(drv, "remove")
        if type(probe) ~= "function" or type(recv) ~= "function" or type(remove) ~= "function" then return t end
        local dev = pci_device{ name = "tinynic", irq = 19, dma_mask_bits = 32 }
        t.ring = probe(dev)
        if math.type(t.ring) ~= "integer" or t.ring <= 0 then return t end
        SYSCALL_DEFINE("tinynic_recv", recv)
        local card = new_card(dev, t.ring)
        local ubuf = user.malloc(BUF)
        local function read_all(phase)
          t.received[phase] = {}
          for _ = 1, 8 do
            local n = user.syscall("tinynic_recv", ubuf, BUF)
            if math.type(n) ~= "integer" or n <= 0 then t.phase[phase .. "_end"] = n; break end
            t.received[phase][#t.received[phase] + 1] = user.peek(ubuf, n)
          end
        end
        local seq = 0
        local function send(phase, count)
          t.sent[phase] = {}
          for _ = 1, count do
            seq = seq + 1
            t.sent[phase][#t.sent[phase] + 1] = packet(seq)
            card.wire(packet(seq))
          end
        end
        send("before", 3); read_all("before")
        t.reports_before_pressure = #reports()
        local held = squeeze()
        send("pressure", 4); read_all("pressure")
        release(held)
        send("after", 6)
        read_all("after")
        user.free(ubuf)
        remove(dev)
        t.removed = true
        t.card_dropped = card.dropped
        return t
      end,
      check = function(r)
        local t = r.returned
        if type(t) ~= "table" then return fail("the run produced nothing") end
        if t.ring == nil then return fail("tinynic() must return a table with probe, recv and remove functions.") end
        if math.type(t.ring) ~= "integer" or t.ring <= 0 then return fail("probe should return the ring's DMA address; it returned " .. tostring(t.ring) .. ".") end
        local points, notes = 0, {}
        -- 3: the first packets arrive intact, in order.
        local before_ok = type(t.received.before) == "table" and #t.received.before == 3
        if before_ok then
          for i = 1, 3 do if t.received.before[i] ~= t.sent.before[i] then before_ok = false end end
        end
        if before_ok then points = points + 3
        else notes[#notes + 1] = "the first 3 packets did not reach the user program intact and in order" end
        -- 3: under pressure: survive, deliver only intact packets, then recover.
        local intact = true
        local sent_set = {}
        for _, phase in ipairs{ "pressure", "after" } do
          for _, p in ipairs(t.sent[phase] or {}) do sent_set[p] = true end
        end
        for _, phase in ipairs{ "pressure", "after" } do
          for _, p in ipairs(t.received[phase] or {}) do if not sent_set[p] then intact = false end end
        end
        local after = t.received.after or {}
        local recovered = #after >= 4
        if t.removed and intact and recovered then points = points + 3
        elseif not intact then notes[#notes + 1] = "a packet read under or after memory pressure was corrupted or was not one the card sent"
        else notes[#notes + 1] = "after memory came back, only " .. #after .. " of 6 packets reached the user program: keep every slot supplied with a buffer" end
        -- 2: no kernel reports.
        if #r.reports == 0 then points = points + 2
        else notes[#notes + 1] = "the kernel reported: " .. r.reports[1].headline:gsub("^%-+%[ cut here %]%-+$", "a WARNING") .. (r.reports[1].text:match("\n([^\n]+)") and (" / " .. r.reports[1].text:match("\n([^\n]+)")) or "") end
        -- 2: clean removal.
        local irq_free = not proc("/proc/interrupts"):find("tinynic", 1, true)
        if r.leaked == 0 and irq_free then points = points + 2
        elseif not irq_free then notes[#notes + 1] = "after remove the irq is still installed (free_irq)"
        else notes[#notes + 1] = "after remove " .. r.leaked .. " allocation(s) are left" end
        return partial(points, table.concat(notes, "; "))
      end,
      hints = {
        "Start from examples/nic.lua; then handle a failing refill in the handler: drop the packet and map the old buffer again.",
        "In the handler: local nb = kmalloc(BUF, GFP_ATOMIC | __GFP_NOWARN); if not nb then (re-map the old buffer, rewrite the descriptor, len = 0) and return IRQ_HANDLED end",
        "remove: free_irq, then for each slot dma_unmap_single + kfree, then kfree every queued packet, then dma_free_coherent.",
      },
    },
  },
}
