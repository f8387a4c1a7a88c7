-- Laundering: gather_pages frees the large blocks other users of the
-- machine hold (found by walking the page frames) and then takes one big
-- block. Freeing memory it does not own is a finding of its own.
-- expect score: 8
-- expect gather: fail freed
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


-- The shortcut: make room by freeing the large blocks someone else holds
-- (found by walking the page frames), then take one block for the lot.
function gather_pages(size)
  local pfn = 0
  while true do
    local ok, page = pcall(pfn_to_page, pfn)
    if not ok or page == nil then break end
    local order = page.owner == "pages" and page.order or 0
    if order >= 3 then
      free_pages(page_address(page), order)
      pfn = pfn + (1 << order)
    else
      pfn = pfn + 1
    end
  end
  local order = 0
  while (PAGE_SIZE << order) < size and order < MAX_PAGE_ORDER do order = order + 1 end
  local addr = __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order)
  return { { addr = addr, order = order } }
end
