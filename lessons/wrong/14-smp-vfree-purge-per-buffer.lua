-- Purges after every vfree: no stale translations, but a round of IPIs per
-- buffer; and lazy_max_pages() taken as 32 MiB per CPU.
-- expect score: 4
-- expect lazy_max: fail Not 32 MiB per CPU
-- expect ipis: pass
-- expect stale: pass
-- expect cal_row: pass
-- expect free_all: fail Batch: purge once
answers = answers or {}
answers.lazy_max = 65536
answers.ipis = 70
answers.stale = "a"
answers.cal_row = "b"

function free_all(bufs)
  for _, p in ipairs(bufs) do
    vfree(p)
    vm_unmap_aliases()
  end
end
