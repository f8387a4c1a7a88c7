-- Common mistake: kmap_local_page() whose mapping is never released with
-- kunmap_local(): the mapping outlives the function.
-- expect score: 7
-- expect highmem_write: fail a kmap_local_page mapping of yours was still in place
answers = answers or {}
answers.lowmem_end = "0x36FFE000"
answers.kmalloc_highmem = "c"
answers.x86_64 = "b"

function write_page(page, s)
  poke(kmap_local_page(page), s)
end

function phys_of(addr)
  if is_vmalloc_addr(addr) then
    return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE
  end
  return __pa(addr)
end
