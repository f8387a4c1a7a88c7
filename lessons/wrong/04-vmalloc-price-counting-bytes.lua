-- (The seed-0 variant asks about vmalloc(1072 * 1024) and 5 sweeps of 50 pages.)
-- Common mistakes: reading every byte (or counting reads, not misses);
-- counting the guard page.
-- expect score: 5
-- expect ptes: fail The guard page is reserved but never mapped
-- expect measure: fail TLB miss(es) but returned
answers = answers or {}
answers.ptes = 269
answers.thrash = 50
answers.vfree = "b"

function tlb_misses_touching(addr, pages)
  local reads = 0
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE); reads = reads + 1 end
  return reads * 2
end

function alloc_hot_buffer(size)
  return kmalloc(size, GFP_KERNEL)
end
