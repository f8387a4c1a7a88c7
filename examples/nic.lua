-- A tiny NIC driver for kmlab (run it with: kmlab run examples/nic.lua).
--
-- probe() allocates the receive ring with dma_alloc_coherent and fills it
-- with kmalloc'ed buffers mapped for the device; the interrupt handler
-- takes a received packet off the ring and refills the slot with
-- GFP_ATOMIC (it may not sleep); a syscall copies a packet to user space
-- (process context: copy_to_user may fault and sleep, so it runs outside
-- the spinlock). Everything is freed at the end: the run is clean.

local RING = 4        -- receive descriptors
local BUF = 2048      -- bytes per receive buffer
local DESC = 16       -- bytes per descriptor: buffer dma address, size, received length

local nic = {}

-- Puts a fresh buffer in ring slot i (0-based). flags: GFP_KERNEL in probe, GFP_ATOMIC in the handler.
local function refill(i, flags)
  local buf = kmalloc(BUF, flags)
  if not buf then return false end
  local dma = dma_map_single(nic.dev, buf, BUF, DMA_FROM_DEVICE)
  if dma_mapping_error(nic.dev, dma) then kfree(buf) return false end
  nic.buf[i], nic.dma[i] = buf, dma
  poke(nic.ring + i * DESC, string.pack("<I4I4I4", dma, BUF, 0))
  return true
end

-- The interrupt handler: hardirq context, interrupts off, no sleeping.
local function tinynic_irq(irq, dev)
  spin_lock(nic.lock)
  local i = nic.next
  local len = string.unpack("<I4", peek(nic.ring + i * DESC + 8, 4))
  if len == 0 then spin_unlock(nic.lock) return IRQ_NONE end
  dma_unmap_single(nic.dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
  table.insert(nic.rx, {buf = nic.buf[i], len = len})
  refill(i, GFP_ATOMIC)
  nic.next = (i + 1) % RING
  spin_unlock(nic.lock)
  return IRQ_HANDLED
end

local function probe()
  nic.dev = pci_device{name = "tinynic", irq = 19, dma_mask_bits = 32}
  nic.lock = spin_lock_init("nic->lock")
  nic.ring, nic.ring_dma = dma_alloc_coherent(nic.dev, RING * DESC, GFP_KERNEL)
  nic.buf, nic.dma, nic.rx, nic.next = {}, {}, {}, 0
  for i = 0, RING - 1 do assert(refill(i, GFP_KERNEL)) end
  assert(request_irq(nic.dev.irq, tinynic_irq, 0, "tinynic", nic) == 0)
  print(string.format("tinynic %s: %d rx buffers, ring at dma 0x%x", nic.dev.bus, RING, nic.ring_dma))
end

-- recv(ubuf, n): copies the oldest packet to user space; -EAGAIN if none.
SYSCALL_DEFINE("tinynic_recv", function(ubuf, n)
  local flags = spin_lock_irqsave(nic.lock)
  local pkt = table.remove(nic.rx, 1)
  spin_unlock_irqrestore(nic.lock, flags)
  if not pkt then return -EAGAIN end
  local len = math.min(n, pkt.len)
  local left = copy_to_user(ubuf, pkt.buf, len)
  kfree(pkt.buf)
  if left ~= 0 then return -EFAULT end
  return len
end)

local function remove()
  free_irq(nic.dev.irq, nic)
  for i = 0, RING - 1 do
    dma_unmap_single(nic.dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
    kfree(nic.buf[i])
  end
  for _, pkt in ipairs(nic.rx) do kfree(pkt.buf) end
  dma_free_coherent(nic.dev, RING * DESC, nic.ring, nic.ring_dma)
end

-- The hardware: reads the next descriptor, writes the packet where it
-- points (physical memory, no MMU), stores the length, raises the line.
local hw_next = 0
local function wire(packet)
  local desc = nic.ring_dma + hw_next * DESC
  local dma, size = string.unpack("<I4I4", nic.dev:dma_read(desc, 8))
  assert(#packet <= size)
  nic.dev:dma_write(dma, packet)
  nic.dev:dma_write(desc + 8, string.pack("<I4", #packet))
  hw_next = (hw_next + 1) % RING
  nic.dev:raise_irq()
end

probe()
wire("ping from 10.0.0.2")
wire("second frame")

-- The user program reads the packets.
local ubuf = user.malloc(BUF)
for _ = 1, 3 do
  local n = user.syscall("tinynic_recv", ubuf, BUF)
  if n < 0 then print("recv: " .. n .. (n == -EAGAIN and " (EAGAIN)" or "")) break end
  print(string.format("recv: %d bytes: %s", n, user.peek(ubuf, n)))
end
print("page faults: " .. stats().page_faults)
print(proc("/proc/interrupts"):match("[^\n]*tinynic"))
user.free(ubuf)
remove()
