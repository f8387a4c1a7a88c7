-- Reference solution for lesson 14 (full marks), for the lesson as written
-- (learner seed 0: 8 CPUs for lazy_max; 3 CPUs, 11 pages, 49,000 pairs for ipis).
answers = answers or {}
answers.lazy_max = 32768     -- fls(8) = 4, times 8192 pages (32 MiB)
answers.ipis = 70            -- a purge every 16384 // 12 + 1 = 1366 vfrees: 35 purges, 2 IPIs each
answers.stale = "a"
answers.cal_row = "b"

-- Free every buffer (each range joins the purge list), then purge once:
-- one flush, one IPI per other CPU, for all of them.
function free_all(bufs)
  for _, p in ipairs(bufs) do vfree(p) end
  vm_unmap_aliases()
end
