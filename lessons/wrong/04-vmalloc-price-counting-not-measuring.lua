-- Shortcut: working the miss count out instead of measuring it (one per
-- vmalloc page, none for kmalloc). Right for a fresh buffer; wrong once the
-- translations are cached (the same buffer again), which the cases ask.
-- (The seed-0 variant asks about vmalloc(1072 * 1024) and 5 sweeps of 50 pages.)
-- expect score: 7
-- expect measure: fail measure, with stats().tlb_misses
answers = answers or {}
answers.ptes = 268
answers.thrash = 50
answers.vfree = "b"

function tlb_misses_touching(addr, pages)
  for i = 0, pages - 1 do peek(addr + i * PAGE_SIZE) end
  if is_vmalloc_addr(addr) then return pages end
  return 0
end

function alloc_hot_buffer(size)
  return kmalloc(size, GFP_KERNEL)
end
