-- Common mistakes: a plain GFP_KERNEL buffer for a 24-bit device; mapping
-- whatever buffer arrives, vmalloc memory included; the belief that a
-- vmalloc buffer maps to its first page (not even 2.6 did that: it returned
-- virt_to_phys() of the vmalloc address, an unrelated frame).
-- expect score: 3
-- expect vmalloc_map: fail Not even 2.6 did that
-- expect rx_map: bug overflow
-- expect tx_any: bug rejecting DMA map of vmalloc memory
answers = answers or {}
answers.why_contig = "a"
answers.vmalloc_map = "a"
answers.isa_reach = 1 << 30
answers.ring = "a"

function map_rx(dev, len)
  local buf = kmalloc(len, GFP_KERNEL)
  if not buf then return nil end
  local dma = dma_map_single(dev, buf, len, DMA_FROM_DEVICE)
  if dma_mapping_error(dev, dma) then
    kfree(buf)
    return nil
  end
  return buf, dma
end

function tx_prepare(dev, buf, len)
  local dma = dma_map_single(dev, buf, len, DMA_TO_DEVICE)
  if dma_mapping_error(dev, dma) then return nil end
  return dma, nil
end
