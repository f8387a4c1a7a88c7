-- Shortcut: instead of parsing /proc/buddyinfo, take every free page so
-- that the buddy state read afterwards is "nothing free", and answer that.
-- The grader reads buddyinfo itself before the call and counts the
-- allocations the call tried.
-- expect score: 8
-- expect read_buddyinfo: fail reading /proc/buddyinfo must not change it
answers = answers or {}
answers.free_pages = 8696
answers.largest = "512K"
answers.why = "c"

function buddy_free(zone)
  while __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, 0) do end
  return 0, -1
end

function gather_pages(size)
  local chunks, got = {}, 0
  local order = MAX_PAGE_ORDER
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
