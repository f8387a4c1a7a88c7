-- The page-table walk is right, but the offset within the page is lost:
-- vmalloc_to_page names the page, not the byte.
-- expect score: 7
-- expect phys_of: fail lacks the offset within the page
answers = answers or {}
answers.lowmem_end = "0x36FFE000"
answers.kmalloc_highmem = "c"
answers.x86_64 = "b"

function write_page(page, s)
  local a = kmap_local_page(page)
  poke(a, s)
  kunmap_local(a)
end

function phys_of(addr)
  if is_vmalloc_addr(addr) then
    return page_to_phys(vmalloc_to_page(addr))
  end
  return __pa(addr)
end
