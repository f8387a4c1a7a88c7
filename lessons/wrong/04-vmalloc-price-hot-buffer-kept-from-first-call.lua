-- Shortcut: allocate the hot buffer once and hand the same address to
-- every later caller. Each case is another machine (a module loaded on
-- another boot): the address kept from the first call is not an
-- allocation there, let alone one of the size asked for.
-- (The seed-0 variant asks about vmalloc(1072 * 1024) and 5 sweeps of 50 pages.)
-- expect score: 8
-- expect hot_buffer: fail is not an allocation this call made
answers = answers or {}
answers.ptes = 268
answers.thrash = 50
answers.vfree = "b"

function tlb_misses_touching(addr, pages)
  local before = stats().tlb_misses
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE) end
  return stats().tlb_misses - before
end

local hot

function alloc_hot_buffer(size)
  hot = hot or kmalloc(size, GFP_KERNEL)
  return hot
end
