-- Shortcut: the size the prompt once named (256 KiB), whatever size is
-- asked for. Right for one size; too small for a bigger buffer and twice
-- too big (or more) for a small one, and the cases ask both.
-- (The seed-0 variant asks about vmalloc(1072 * 1024) and 5 sweeps of 50 pages.)
-- expect score: 8
-- expect hot_buffer: fail the buffer holds
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
  return kmalloc(256 * 1024, GFP_KERNEL)
end
