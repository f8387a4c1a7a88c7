-- Common mistakes (order: 248 is the page count of the seed-0 size): the old 128 KiB limit; order counted in pages; trying
-- kmalloc for any size (a WARNING for 6 MiB); a hard-coded limit.
-- expect score: 3
-- expect max_size: fail 128 KiB was the limit of early 2.6 kernels
-- expect order: fail blocks come in powers of two
-- expect big_table: bug kernel report: WARNING: CPU: 0 PID
-- expect probe_limit: fail Probe, don't assume
answers = answers or {}
answers.max_size = 131072
answers.order = 248
answers.old_limit = 131072

function get_order(size)
  local order = 0
  while (PAGE_SIZE << order) < size do order = order + 1 end
  return order
end

function alloc_table(size)
  return kmalloc(size, GFP_KERNEL) or vmalloc(size)
end

function probe_limit()
  return 4194304
end
