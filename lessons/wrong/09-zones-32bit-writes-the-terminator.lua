-- Common mistake: copying the string as C's strcpy would, with its NUL
-- terminator: one byte past the string changes, on every page.
-- expect score: 7
-- expect highmem_write: fail bytes after the string changed
answers = answers or {}
answers.lowmem_end = "0x36FFE000"
answers.kmalloc_highmem = "c"
answers.x86_64 = "b"

function write_page(page, s)
  local a = kmap_local_page(page)
  poke(a, s .. "\0")
  kunmap_local(a)
end

function phys_of(addr)
  if is_vmalloc_addr(addr) then
    return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE
  end
  return __pa(addr)
end
