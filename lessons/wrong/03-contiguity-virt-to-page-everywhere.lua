-- (pa: the seed-0 variant asks about 0xCB484000.)
-- Common mistake: virt_to_page (or __pa) on a vmalloc address: a kernel BUG
-- with CONFIG_DEBUG_VIRTUAL. Also: the pfn taken for the physical address.
-- expect score: 2
-- expect pa: fail That is the page frame number
-- expect frames: bug kernel BUG at arch/x86/mm/physaddr.c
-- expect contiguous: bug kernel BUG at arch/x86/mm/physaddr.c
answers = answers or {}
answers.pa = 0xB484
answers.which = "kmalloc(65536, GFP_KERNEL)"
answers.pa_vmalloc = "c"

function frames_of(addr, size)
  local pfns = {}
  for a = addr, addr + size - 1, PAGE_SIZE do
    pfns[#pfns + 1] = page_to_pfn(virt_to_page(a))
  end
  return pfns
end

function is_phys_contiguous(addr, size)
  local pfns = frames_of(addr, size)
  for i = 2, #pfns do
    if pfns[i] ~= pfns[i - 1] + 1 then return false end
  end
  return true
end
