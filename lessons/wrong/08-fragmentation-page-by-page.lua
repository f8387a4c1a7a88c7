-- Common mistakes: summing the columns as pages; one page at a time;
-- the order-10 limit taken for what is free.
-- expect score: 1
-- expect free_pages: fail Each count is a number of blocks
-- expect largest: fail Order 10 (4 MiB) has a count of 0 here
-- expect read_buddyinfo: fail Remember each column counts blocks
-- expect gather: fail you took small blocks while larger ones were free
answers = answers or {}
answers.free_pages = 7337
answers.largest = "4M"
answers.why = 3

function buddy_free(zone)
  for line in proc("/proc/buddyinfo"):gmatch("[^\n]+") do
    local name, rest = line:match("^Node %d+, zone%s+(%S+)(.*)$")
    if name == zone then
      local pages, largest, order = 0, -1, 0
      for n in rest:gmatch("%d+") do
        pages = pages + tonumber(n)
        if tonumber(n) > 0 then largest = order end
        order = order + 1
      end
      return pages, largest
    end
  end
end

function gather_pages(size)
  local chunks = {}
  for i = 1, (size + PAGE_SIZE - 1) // PAGE_SIZE do
    chunks[#chunks + 1] = { addr = __get_free_pages(GFP_ATOMIC, 0), order = 0 }
  end
  return chunks
end
