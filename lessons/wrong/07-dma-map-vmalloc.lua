-- Common mistakes: mapping the vmalloc buffer directly; __pa taken for the
-- device address; virtual address given to the device.
-- expect score: 5
-- expect bounce: bug rejecting DMA map of vmalloc memory
-- expect bus_addr: fail That is the CPU's virtual address
-- expect map_rx: pass
answers = answers or {}
answers.why = "b"
answers.bus_addr = 0xC1A00000
answers.vmalloc_map = "c"

function map_rx(dev)
  local buf = kmalloc(4096, GFP_KERNEL)
  if not buf then return nil, nil end
  local dma = dma_map_single(dev, buf, 4096, DMA_FROM_DEVICE)
  if dma_mapping_error(dev, dma) then
    kfree(buf)
    return nil, nil
  end
  return buf, dma
end

function send_buffer(dev, buf, len)
  return dma_map_single(dev, buf, len, DMA_TO_DEVICE)
end
