-- Reference solution for lesson 4 (full marks).
answers = answers or {}
answers.ptes = 268
answers.thrash = 50
answers.vfree = "b"

function tlb_misses_touching(addr, pages)
  local before = stats().tlb_misses
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE) end
  return stats().tlb_misses - before
end

function alloc_hot_buffer(size)
  return kmalloc(size, GFP_KERNEL)
end
