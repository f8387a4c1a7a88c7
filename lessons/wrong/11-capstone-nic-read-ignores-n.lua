-- Common mistake: nic_read copies the whole frame whatever n is, and
-- returns its length: a short user buffer is overrun.
-- expect score: 9
-- expect receive: fail should copy
answers = answers or {}
answers.contexts = "b"

local RING, BUF, DESC = 8, 2048, 16
local nic

-- Puts a fresh receive buffer in slot i (0-based); false when there is no memory.
local function refill(i, gfp)
  local buf = kmalloc(BUF, gfp)
  if not buf then return false end
  local dma = dma_map_single(nic.dev, buf, BUF, DMA_FROM_DEVICE)
  if dma_mapping_error(nic.dev, dma) then kfree(buf) return false end
  nic.buf[i], nic.dma[i] = buf, dma
  poke(nic.ring + i * DESC, string.pack("<I4I4I4I4", dma, BUF, 0, 0))
  return true
end

-- Process context (a kworker): refill the empty slots with GFP_KERNEL.
local function refill_work()
  local flags = spin_lock_irqsave(nic.lock)
  local empty = {}
  for i = 0, RING - 1 do if not nic.buf[i] then empty[#empty + 1] = i end end
  spin_unlock_irqrestore(nic.lock, flags)
  for _, i in ipairs(empty) do
    local buf = kmalloc(BUF, GFP_KERNEL)
    if buf then
      local dma = dma_map_single(nic.dev, buf, BUF, DMA_FROM_DEVICE)
      if dma_mapping_error(nic.dev, dma) then kfree(buf) else
        flags = spin_lock_irqsave(nic.lock)
        nic.buf[i], nic.dma[i] = buf, dma
        poke(nic.ring + i * DESC, string.pack("<I4I4I4I4", dma, BUF, 0, 0))
        spin_unlock_irqrestore(nic.lock, flags)
      end
    end
  end
end

-- Hardirq context: take every filled slot, refill it with GFP_ATOMIC, or
-- leave it empty and let the work item refill it.
local function nic_irq(irq, dev)
  spin_lock(nic.lock)
  local handled = false
  while true do
    local i = nic.next
    local len = string.unpack("<I4", peek(nic.ring + i * DESC + 8, 4))
    if len == 0 or not nic.buf[i] then break end
    handled = true
    dma_unmap_single(nic.dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
    nic.rx[#nic.rx + 1] = { buf = nic.buf[i], len = len }
    nic.buf[i], nic.dma[i] = nil, nil
    if not refill(i, GFP_ATOMIC | __GFP_NOWARN) then
      poke(nic.ring + i * DESC, string.pack("<I4I4I4I4", 0, 0, 0, 0))
      schedule_work(refill_work)
    end
    nic.next = (i + 1) % RING
  end
  spin_unlock(nic.lock)
  return handled and IRQ_HANDLED or IRQ_NONE
end

function nic_probe(dev)
  nic = { dev = dev, lock = spin_lock_init("nic->lock"), buf = {}, dma = {}, rx = {}, next = 0 }
  nic.ring, nic.ring_dma = dma_alloc_coherent(dev, RING * DESC, GFP_KERNEL)
  if not nic.ring then return -ENOMEM end
  for i = 0, RING - 1 do
    if not refill(i, GFP_KERNEL) then nic_remove(dev) return -ENOMEM end
  end
  local err = request_irq(dev.irq, nic_irq, 0, "kmnic", nic)
  if err ~= 0 then nic_remove(dev) return err end
  nic.irq_requested = true
  return nic.ring_dma
end

function nic_read(ubuf, n)
  local flags = spin_lock_irqsave(nic.lock)
  local pkt = table.remove(nic.rx, 1)
  spin_unlock_irqrestore(nic.lock, flags)
  if not pkt then return -EAGAIN end
  local len = pkt.len
  local left = copy_to_user(ubuf, pkt.buf, len)
  kfree(pkt.buf)
  if left ~= 0 then return -EFAULT end
  return len
end

function nic_remove(dev)
  if nic.irq_requested then free_irq(dev.irq, nic) end
  flush_scheduled_work()
  for i = 0, RING - 1 do
    if nic.buf[i] then
      dma_unmap_single(dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
      kfree(nic.buf[i])
      nic.buf[i] = nil
    end
  end
  for _, pkt in ipairs(nic.rx) do kfree(pkt.buf) end
  nic.rx = {}
  if nic.ring then dma_free_coherent(dev, RING * DESC, nic.ring, nic.ring_dma) end
  return 0
end
