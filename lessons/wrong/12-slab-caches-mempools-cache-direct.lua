-- The pool is made, then bypassed: the handler allocates from the cache
-- and the tasklet frees to it, so the reserve never serves and never refills.
-- expect score: 3
-- expect slot: fail kmalloc's size class
-- expect ctor: pass
-- expect rx_init: pass
-- expect rx_packet: fail the pool had
-- expect rx_done: fail the next bad day finds it short
answers = answers or {}
answers.slot = 512
answers.ctor = "a"

function rx_init(n)
  local cache = kmem_cache_create("rx_desc", 200, 0, SLAB_HWCACHE_ALIGN, nil)
  return cache, mempool_create_slab_pool(n, cache)
end

function rx_packet(pool, cache)
  return kmem_cache_alloc(cache, GFP_ATOMIC | __GFP_NOWARN)
end

function rx_done(pool, desc, cache)
  kmem_cache_free(cache, desc)
end
