-- Shortcut: no driver at all. Probe hands the card a ring whose
-- descriptors have no buffers (the card drops every frame), and nic_read
-- synthesises the frames from what the lesson's frames look like, counting
-- reads. The grader's frames carry bytes no formula predicts, and the card
-- counts its drops. Under pressure its GFP_KERNEL kmalloc in the read
-- syscall calls the OOM killer, which kills the reader, a.out.
-- expect score: 1
-- expect probe: fail has no buffer
-- expect receive: fail the card dropped
-- expect pressure: error user task 413 (a.out) was killed by the OOM killer
answers = answers or {}
answers.contexts = "b"

local nic = { reads = 0 }

local function frame(i)
  local body = string.format("frame %03d from 10.0.0.%d ", i, i % 250 + 2)
  return body .. string.rep(string.char(97 + i % 26), 60 + (i * 37) % 1400 - #body)
end

function nic_probe(dev)
  nic.ring, nic.ring_dma = dma_alloc_coherent(dev, 8 * 16, GFP_KERNEL)
  if not nic.ring then return -ENOMEM end
  nic.dev, nic.reads = dev, 0
  local err = request_irq(dev.irq, function() return IRQ_HANDLED end, 0, "kmnic", nic)
  if err ~= 0 then
    dma_free_coherent(dev, 8 * 16, nic.ring, nic.ring_dma)
    return err
  end
  return nic.ring_dma
end

function nic_read(ubuf, n)
  nic.reads = nic.reads + 1
  local f = frame(nic.reads)
  local k = kmalloc(#f, GFP_KERNEL | __GFP_NOWARN)
  if not k then return -EAGAIN end
  poke(k, f)
  local len = math.min(n, #f)
  local left = copy_to_user(ubuf, k, len)
  kfree(k)
  if left ~= 0 then return -EFAULT end
  return len
end

function nic_remove(dev)
  free_irq(dev.irq, nic)
  dma_free_coherent(dev, 8 * 16, nic.ring, nic.ring_dma)
  return 0
end
