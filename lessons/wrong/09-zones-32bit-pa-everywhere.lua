-- Common mistakes: __va of a highmem physical address (a page fault);
-- __pa of a vmalloc address (a kernel BUG); x86_64 thought to have highmem.
-- expect score: 3
-- expect highmem_write: bug BUG: unable to handle page fault
-- expect phys_of: bug kernel BUG at arch/x86/mm/physaddr.c
-- expect x86_64: fail There is no highmem on x86_64
answers = answers or {}
answers.lowmem_end = 922738688
answers.kmalloc_highmem = 3
answers.x86_64 = "a"

function write_page(page, s)
  poke(__va(page_to_phys(page)), s)
end

function phys_of(addr)
  return __pa(addr)
end
