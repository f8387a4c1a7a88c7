-- Reference solution for lesson 11 (full marks).
answers = answers or {}
answers.ring_memory = "c"
answers.irq_refill = GFP_ATOMIC | __GFP_NOWARN

local RING, DESC, BUF = 4, 16, 2048

function tinynic()
  local nic = { buf = {}, dma = {}, rx = {} }

  local function set_slot(i, buf, dma)
    nic.buf[i], nic.dma[i] = buf, dma
    poke(nic.ring + i * DESC, string.pack("<I4I4I4I4", dma, BUF, 0, 0))
  end

  -- A fresh mapped buffer, or nil.
  local function new_buffer(flags)
    local buf = kmalloc(BUF, flags)
    if not buf then return nil end
    local dma = dma_map_single(nic.dev, buf, BUF, DMA_FROM_DEVICE)
    if dma_mapping_error(nic.dev, dma) then kfree(buf) return nil end
    return buf, dma
  end

  local function irq_handler(irq, dev)
    local handled = false
    spin_lock(nic.lock)
    for _ = 1, RING do
      local i = nic.next
      local len = string.unpack("<I4", peek(nic.ring + i * DESC + 8, 4))
      if len == 0 then break end
      handled = true
      local nb, ndma = new_buffer(GFP_ATOMIC | __GFP_NOWARN)
      dma_unmap_single(nic.dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
      if nb then
        table.insert(nic.rx, { buf = nic.buf[i], len = len })
        set_slot(i, nb, ndma)
      else
        -- No memory: drop the packet, give the slot its buffer back.
        nic.dropped = nic.dropped + 1
        local dma = dma_map_single(nic.dev, nic.buf[i], BUF, DMA_FROM_DEVICE)
        if dma_mapping_error(nic.dev, dma) then
          kfree(nic.buf[i])
          set_slot(i, nil, 0)
        else
          set_slot(i, nic.buf[i], dma)
        end
      end
      nic.next = (i + 1) % RING
    end
    spin_unlock(nic.lock)
    return handled and IRQ_HANDLED or IRQ_NONE
  end

  local function probe(dev)
    nic.dev, nic.next, nic.dropped = dev, 0, 0
    nic.lock = spin_lock_init()
    nic.ring, nic.ring_dma = dma_alloc_coherent(dev, RING * DESC, GFP_KERNEL)
    if not nic.ring then return -ENOMEM end
    for i = 0, RING - 1 do
      local buf, dma = new_buffer(GFP_KERNEL)
      if not buf then return -ENOMEM end
      set_slot(i, buf, dma)
    end
    local rc = request_irq(dev.irq, irq_handler, 0, "tinynic", nic)
    if rc ~= 0 then return rc end
    return nic.ring_dma
  end

  local function recv(ubuf, n)
    local flags = spin_lock_irqsave(nic.lock)
    local pkt = table.remove(nic.rx, 1)
    spin_unlock_irqrestore(nic.lock, flags)
    if not pkt then return -EAGAIN end
    local len = math.min(n, pkt.len)
    local left = copy_to_user(ubuf, pkt.buf, len)
    kfree(pkt.buf)
    if left ~= 0 then return -EFAULT end
    return len
  end

  local function remove(dev)
    free_irq(dev.irq, nic)
    for i = 0, RING - 1 do
      if nic.buf[i] then
        dma_unmap_single(dev, nic.dma[i], BUF, DMA_FROM_DEVICE)
        kfree(nic.buf[i])
      end
    end
    for _, pkt in ipairs(nic.rx) do kfree(pkt.buf) end
    nic.rx = {}
    dma_free_coherent(dev, RING * DESC, nic.ring, nic.ring_dma)
  end

  return { probe = probe, recv = recv, remove = remove }
end
