-- Purges before freeing: there is nothing on the purge list yet, so the
-- buffers' ranges still wait afterwards; and the IPIs looked for in the
-- TLB row.
-- expect score: 5
-- expect lazy_max: pass
-- expect ipis: pass
-- expect stale: pass
-- expect cal_row: fail the TLB row counts flushes of user address spaces
-- expect free_all: fail still wait for the purge
answers = answers or {}
answers.lazy_max = 32768
answers.ipis = 70
answers.stale = "a"
answers.cal_row = "a"

function free_all(bufs)
  vm_unmap_aliases()
  for _, p in ipairs(bufs) do vfree(p) end
end
