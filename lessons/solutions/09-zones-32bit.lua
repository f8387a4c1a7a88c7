-- Reference solution for lesson 9 (full marks).
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
    return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE
  end
  return __pa(addr)
end
