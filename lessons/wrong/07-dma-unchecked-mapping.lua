-- Common mistakes: never checking dma_mapping_error; believing the kernel
-- maps vmalloc memory page by page.
-- expect score: 5
-- expect map_rx: fail always check the mapping with dma_mapping_error
-- expect vmalloc_map: fail That is what a scatter-gather list
-- expect why: fail Speed is not the issue
answers = answers or {}
answers.why = "a"
answers.bus_addr = "0x1a00000"
answers.vmalloc_map = "a"

function map_rx(dev)
  local buf = kmalloc(4096, GFP_KERNEL)
  return buf, dma_map_single(dev, buf, 4096, DMA_FROM_DEVICE)
end

function send_buffer(dev, buf, len)
  local bounce = kmalloc(len, GFP_KERNEL)
  memcpy(bounce, buf, len)
  return dma_map_single(dev, bounce, len, DMA_TO_DEVICE)
end
