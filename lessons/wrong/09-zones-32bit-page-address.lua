-- Common mistakes: page_address() of a highmem page (nil); the kmalloc
-- highmem misconception; all of the kernel's 1 GiB taken for lowmem.
-- expect score: 4
-- expect lowmem_end: fail the vmalloc area, pkmap and fixmap need the last 128 MiB
-- expect kmalloc_highmem: fail That is the common misconception
-- expect highmem_write: bug a NULL pointer was used
-- expect phys_of: pass
answers = answers or {}
answers.lowmem_end = "1G"
answers.kmalloc_highmem = "a"
answers.x86_64 = "b"

function write_page(page, s)
  poke(page_address(page), s)
end

function phys_of(addr)
  if is_vmalloc_addr(addr) then
    return page_to_phys(vmalloc_to_page(addr)) + addr % PAGE_SIZE
  end
  return __pa(addr)
end
