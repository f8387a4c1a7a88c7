-- (The seed-0 variant asks about vmalloc(1072 * 1024) and 5 sweeps of 50 pages.)
-- Common mistakes: one PTE per allocation; believing a second sweep hits;
-- vmalloc for hot data.
-- expect score: 4
-- expect ptes: fail One PTE per page
-- expect thrash: fail translations fit in the TLB
-- expect hot_buffer: fail a vmalloc buffer: 
-- expect measure: pass
answers = answers or {}
answers.ptes = 1
answers.thrash = 250
answers.vfree = 2

function tlb_misses_touching(addr, pages)
  local before = stats().tlb_misses
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE) end
  return stats().tlb_misses - before
end

function alloc_hot_buffer(size)
  return vmalloc(size)
end
