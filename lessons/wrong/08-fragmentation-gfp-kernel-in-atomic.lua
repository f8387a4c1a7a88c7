-- Common mistake: GFP_KERNEL to get large blocks by reclaim and
-- compaction, in a function called with a spinlock held: it may sleep.
-- expect score: 8
-- expect gather: bug sleeping function called from invalid context
answers = answers or {}
answers.free_pages = 8696
answers.largest = "512K"
answers.why = "c"

function buddy_free(zone)
  for line in proc("/proc/buddyinfo"):gmatch("[^\n]+") do
    local name, rest = line:match("^Node %d+, zone%s+(%S+)(.*)$")
    if name == zone then
      local pages, largest, order = 0, -1, 0
      for n in rest:gmatch("%d+") do
        local count = tonumber(n)
        pages = pages + count * (1 << order)
        if count > 0 then largest = order end
        order = order + 1
      end
      return pages, largest
    end
  end
end


function gather_pages(size)
  local chunks, got = {}, 0
  local order = MAX_PAGE_ORDER
  while got < size and order >= 0 do
    local addr = __get_free_pages(GFP_KERNEL | __GFP_NOWARN, order)
    if addr then
      chunks[#chunks + 1] = { addr = addr, order = order }
      got = got + (PAGE_SIZE << order)
    else
      order = order - 1
    end
  end
  return chunks
end
