-- GFP_KERNEL in the interrupt handler ("the pool guarantees progress, so
-- let it wait"), no cache-line alignment, and a constructor believed to run
-- at every allocation.
-- expect score: 2
-- expect slot: fail rounded to a word
-- expect ctor: fail init function
-- expect rx_init: fail not aligned to the cache line
-- expect rx_packet: bug BUG: sleeping function called from invalid context
-- expect rx_done: pass
answers = answers or {}
answers.slot = 392
answers.ctor = "b"

function rx_init(n)
  local cache = kmem_cache_create("rx_desc", 200, 0, 0, nil)
  return cache, mempool_create_slab_pool(n, cache)
end

function rx_packet(pool, cache)
  return mempool_alloc(pool, GFP_KERNEL)
end

function rx_done(pool, desc, cache)
  mempool_free(desc, pool)
end
