-- Common mistakes: the mask taken for the size; a vmalloc buffer handed to
-- the device from its first page on (dma_map_page runs past it); no
-- dma_mapping_error check; a ring remapped around every access.
-- expect score: 2
-- expect rx_map: bug failed to check map error
-- expect isa_reach: fail 0x3fffffff is the mask
-- expect ring: fail Streaming mappings are for buffers handed over once
-- expect tx_any: bug device read from frames its mapping does not own
answers = answers or {}
answers.why_contig = 1
answers.vmalloc_map = "b"
answers.isa_reach = 0x3fffffff
answers.ring = "c"

function map_rx(dev, len)
  local buf = kmalloc(len, GFP_DMA)
  if not buf then return nil end
  return buf, dma_map_single(dev, buf, len, DMA_FROM_DEVICE)
end

function tx_prepare(dev, buf, len)
  local dma
  if is_vmalloc_addr(buf) then
    dma = dma_map_page(dev, vmalloc_to_page(buf), 0, len, DMA_TO_DEVICE)
  else
    dma = dma_map_single(dev, buf, len, DMA_TO_DEVICE)
  end
  if dma_mapping_error(dev, dma) then return nil end
  return dma, nil
end
