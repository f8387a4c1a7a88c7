-- "GFP_KERNEL allocations do not fail": the requests are used without a
-- check, and the first one fault injection fails is written through NULL
-- (kmlab passes nil to poke as address 0).
-- expect score: 4
-- expect spared: pass
-- expect ladder: fail skips releasing
-- expect probe: bug NULL pointer dereference
-- expect remove: pass
answers = answers or {}
answers.spared = 0
answers.ladder = "f"

local PRIV, REQ, NREQ, RING, STATUS, TABLE = 256, 192, 4, 8192, 64, 3 * PAGE_SIZE

-- The driver's state, kept between probe and remove.
local blk = {}

-- The card's interrupt: the status block is the card's until synced.
local function blk_irq(irq, dev)
  dma_sync_single_for_cpu(dev, blk.status_dma, STATUS, DMA_FROM_DEVICE)
  dma_sync_single_for_device(dev, blk.status_dma, STATUS, DMA_FROM_DEVICE)
  return IRQ_HANDLED
end

-- Seven steps, and a ladder that releases, from the label a failure jumps
-- to, every step before it once, in reverse order.
function blk_probe(dev)
  -- Every local the ladder uses, before the first goto.
  local priv, cache, ring, ring_dma, status, status_dma, table
  local reqs = {}
  local err = -ENOMEM

  priv = kzalloc(PRIV, GFP_KERNEL)
  if not priv then goto out end
  cache = kmem_cache_create("kmblk_req", REQ, 0, 0, nil)
  if not cache then goto err_free_priv end
  for i = 1, NREQ do
    reqs[i] = kmem_cache_alloc(cache, GFP_KERNEL)
    poke(reqs[i], string.pack("<I4", i))
  end
  ring, ring_dma = dma_alloc_coherent(dev, RING, GFP_KERNEL)
  if not ring then goto err_free_reqs end
  status = kmalloc(STATUS, GFP_KERNEL)
  if not status then goto err_free_ring end
  status_dma = dma_map_single(dev, status, STATUS, DMA_FROM_DEVICE)
  if dma_mapping_error(dev, status_dma) then goto err_free_status end
  poke(ring, string.pack("<I8", status_dma))
  table = vzalloc(TABLE)
  if not table then goto err_unmap end
  blk = { priv = priv, cache = cache, reqs = reqs, ring = ring, ring_dma = ring_dma,
          status = status, status_dma = status_dma, table = table }
  err = request_irq(dev.irq, blk_irq, 0, "kmblk", dev)
  if err ~= 0 then goto err_vfree end
  do return 0 end

  ::err_vfree::
  vfree(table)
  ::err_unmap::
  -- Unmap before kfree: the unmap may copy the device's data back.
  dma_unmap_single(dev, status_dma, STATUS, DMA_FROM_DEVICE)
  ::err_free_status::
  kfree(status)
  ::err_free_ring::
  dma_free_coherent(dev, RING, ring, ring_dma)
  ::err_free_reqs::
  for i = 1, NREQ do
    if reqs[i] then kmem_cache_free(cache, reqs[i]) end
  end
  kmem_cache_destroy(cache)
  ::err_free_priv::
  kfree(priv)
  ::out::
  blk = {}
  return err
end

-- The ladder from the top.
function blk_remove(dev)
  free_irq(dev.irq, dev)
  vfree(blk.table)
  dma_unmap_single(dev, blk.status_dma, STATUS, DMA_FROM_DEVICE)
  kfree(blk.status)
  dma_free_coherent(dev, RING, blk.ring, blk.ring_dma)
  for i = 1, NREQ do kmem_cache_free(blk.cache, blk.reqs[i]) end
  kmem_cache_destroy(blk.cache)
  kfree(blk.priv)
  blk = {}
end
