-- Shortcuts that only fit what a one-case grader asked: get_order as a
-- table of the sizes it used to test (and a guess otherwise), and
-- probe_limit reading KMALLOC_MAX_SIZE instead of probing (an aged machine's
-- largest free block can be smaller).
-- expect score: 8
-- expect get_order: fail
-- expect probe_limit: fail the constant is the allocator's limit
answers = answers or {}
answers.max_size = "4 MiB"
answers.order = 8
answers.old_limit = "128K"

local orders = { [1] = 0, [4096] = 0, [4097] = 1, [8192] = 1, [8193] = 2, [100000] = 5, [1048576] = 8, [4194304] = 10 }
function get_order(size)
  return orders[size] or 5
end

function alloc_table(size)
  if size <= KMALLOC_MAX_SIZE then
    local p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN)
    if p then return p end
  end
  return vmalloc(size)
end

function probe_limit()
  return KMALLOC_MAX_SIZE
end
