-- Common mistake: asking for one big block in atomic context on a
-- fragmented machine, without __GFP_NOWARN and without a fallback.
-- expect score: 7
-- expect gather: bug page allocation failure
-- expect why: fail KMALLOC_MAX_SIZE is 4 MiB
answers = answers or {}
answers.free_pages = 8696
answers.largest = 524288
answers.why = "b"

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
  local order = 0
  while (PAGE_SIZE << order) < size and order < MAX_PAGE_ORDER do order = order + 1 end
  local addr = __get_free_pages(GFP_ATOMIC, order)
  return { { addr = addr, order = order } }
end
