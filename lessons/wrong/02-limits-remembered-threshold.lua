-- A remembered threshold: kmalloc up to 128 KiB (2.6's KMALLOC_MAX_SIZE),
-- vmalloc above. Right on 2.6, wasteful on 6.x, where kmalloc goes to 4 MiB.
-- expect score: 9
-- expect big_table: fail fits in kmalloc (KMALLOC_MAX_SIZE is 4 MiB here)
answers = answers or {}
answers.max_size = "4 MiB"
answers.order = 8
answers.old_limit = "128K"

function get_order(size)
  local order = 0
  while (PAGE_SIZE << order) < size do order = order + 1 end
  return order
end

function alloc_table(size)
  -- The limit remembered from a 2.6 kernel, not asked of this one.
  if size <= 128 * 1024 then return kmalloc(size, GFP_KERNEL) end
  return vmalloc(size)
end

function probe_limit()
  local size, best = PAGE_SIZE, nil
  while true do
    local p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN)
    if not p then return best end
    kfree(p)
    best = size
    size = size * 2
  end
end
