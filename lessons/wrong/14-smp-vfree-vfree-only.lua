-- Believes vfree flushes every CPU at once, as it does with one CPU: the
-- ranges are left waiting for a purge, and the IPI count is a flush per vfree.
-- expect score: 3
-- expect lazy_max: pass
-- expect ipis: fail That is a flush at every vfree
-- expect stale: fail The pages go back at vfree
-- expect cal_row: pass
-- expect free_all: fail still wait for the purge
answers = answers or {}
answers.lazy_max = 32768
answers.ipis = 98000
answers.stale = "b"
answers.cal_row = "b"

function free_all(bufs)
  for _, p in ipairs(bufs) do vfree(p) end
end
