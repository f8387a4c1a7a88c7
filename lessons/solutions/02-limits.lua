-- Reference solution for lesson 2 (full marks).
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
  if size <= KMALLOC_MAX_SIZE then
    local p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN)
    if p then return p end
  end
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
