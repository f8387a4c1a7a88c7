-- Reference solution for lesson 7 (full marks).
answers = answers or {}
answers.why_contig = "a"
answers.vmalloc_map = "b"
answers.isa_reach = "1G"
answers.ring = "a"

-- A 24-bit device: the buffer must lie in ZONE_DMA (below 16 MiB).
function map_rx(dev, len)
  local buf = kmalloc(len, GFP_KERNEL | GFP_DMA)
  if not buf then return nil end
  local dma = dma_map_single(dev, buf, len, DMA_FROM_DEVICE)
  if dma_mapping_error(dev, dma) then
    kfree(buf)
    return nil
  end
  return buf, dma
end

-- Someone else's buffer: map it if it is in the direct map, bounce it
-- through a kmalloc copy if it is vmalloc memory.
function tx_prepare(dev, buf, len)
  local bounce
  if is_vmalloc_addr(buf) then
    bounce = kmalloc(len, GFP_KERNEL)
    if not bounce then return nil end
    memcpy(bounce, buf, len)
  end
  local dma = dma_map_single(dev, bounce or buf, len, DMA_TO_DEVICE)
  if dma_mapping_error(dev, dma) then
    kfree(bounce)
    return nil
  end
  return dma, bounce
end
