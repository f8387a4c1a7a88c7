-- Common mistake: kmap() without kunmap(). Each call keeps one of the
-- pkmap area's 1024 slots; a driver that writes many pages runs out, and
-- kmap() then sleeps for ever (the hung-task detector reports it).
-- expect score: 7
-- expect highmem_write: bug blocked for more than 122 seconds
answers = answers or {}
answers.lowmem_end = "0x36FFE000"
answers.kmalloc_highmem = "c"
answers.x86_64 = "b"

function write_page(page, s)
  poke(kmap(page), s)
end

function phys_of(addr)
  if is_vmalloc_addr(addr) then
    return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE
  end
  return __pa(addr)
end
