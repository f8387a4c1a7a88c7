-- Common mistakes: reading every byte (or counting reads, not misses);
-- counting the guard page.
-- expect score: 5
-- expect ptes: fail The guard page is reserved but never mapped
-- expect measure: fail touching 16 fresh vmalloc pages costs 16 TLB misses
answers = answers or {}
answers.ptes = 257
answers.thrash = 3
answers.vfree = "b"

function tlb_misses_touching(addr, pages)
  local reads = 0
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE); reads = reads + 1 end
  return reads * 2
end

function alloc_hot_buffer(size)
  return kmalloc(size, GFP_KERNEL)
end
