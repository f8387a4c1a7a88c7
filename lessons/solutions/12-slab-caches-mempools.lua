-- Reference solution for lesson 12 (full marks).
answers = answers or {}
answers.slot = 448
answers.ctor = "a"

-- Probe time: a cache of our own (aligned to the cache line, visible in
-- /proc/slabinfo) and a reserve of n descriptors on it.
function rx_init(n)
  local cache = kmem_cache_create("rx_desc", 200, 0, SLAB_HWCACHE_ALIGN, nil)
  if not cache then return nil end
  local pool = mempool_create_slab_pool(n, cache)
  if not pool then
    kmem_cache_destroy(cache)
    return nil
  end
  return cache, pool
end

-- Interrupt handler: GFP_ATOMIC, through the pool (the cache first, the
-- reserve on a bad day, nil when both are gone: the packet is dropped).
function rx_packet(pool, cache)
  return mempool_alloc(pool, GFP_ATOMIC)
end

-- Tasklet: back to the pool, which refills its reserve first.
function rx_done(pool, desc, cache)
  mempool_free(desc, pool)
end
