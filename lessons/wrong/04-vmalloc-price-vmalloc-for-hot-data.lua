-- Common mistakes: one PTE per allocation; believing a second sweep hits;
-- vmalloc for hot data.
-- expect score: 4
-- expect ptes: fail One PTE per page
-- expect thrash: fail the TLB holds 64
-- expect hot_buffer: fail a vmalloc buffer: 64 PTEs written
-- expect measure: pass
answers = answers or {}
answers.ptes = 1
answers.thrash = "a"
answers.vfree = 2

function tlb_misses_touching(addr, pages)
  local before = stats().tlb_misses
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE) end
  return stats().tlb_misses - before
end

function alloc_hot_buffer(size)
  return vmalloc(size)
end
