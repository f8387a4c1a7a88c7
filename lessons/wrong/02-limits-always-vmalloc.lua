-- Common mistakes: vmalloc for everything; get_order off by one at exact
-- powers of two; a probe that leaks what it allocated.
-- expect score: 5
-- expect get_order: fail a whole number of pages
-- expect big_table: fail 64 KiB fits in kmalloc
-- expect probe_limit: fail left
answers = answers or {}
answers.max_size = "4M"
answers.order = 8
answers.old_limit = "128 KiB"

function get_order(size)
  local order = 0
  while (PAGE_SIZE << order) <= size do order = order + 1 end
  return order
end

function alloc_table(size)
  return vmalloc(size)
end

function probe_limit()
  local size, best = PAGE_SIZE, nil
  while true do
    local p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN)
    if not p then return best end
    best = size
    size = size * 2
  end
end
