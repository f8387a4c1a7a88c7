-- Shortcut: the order that fitted the one machine the grader used to ask
-- about (every block of order 3 and up taken, so order-2 chunks), fixed in
-- advance, with a fallback below it. Wherever larger blocks are free (a
-- fresh machine) it takes hundreds of chunks where one or two would do.
-- expect score: 8
-- expect gather: fail you took small blocks while larger ones were free
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
  local order = 2
  while got < size and order >= 0 do
    local addr = __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order)
    if addr then
      chunks[#chunks + 1] = { addr = addr, order = order }
      got = got + (PAGE_SIZE << order)
    else
      order = order - 1
    end
  end
  return chunks
end
