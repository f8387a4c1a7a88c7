-- Reference solution for lesson 7 (full marks).
answers = answers or {}
answers.why = "b"
answers.bus_addr = 0x01A00000
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
  local bounce = kmalloc(len, GFP_KERNEL)
  if not bounce then return nil end
  memcpy(bounce, buf, len)
  local dma = dma_map_single(dev, bounce, len, DMA_TO_DEVICE)
  if dma_mapping_error(dev, dma) then
    kfree(bounce)
    return nil
  end
  return dma
end
