-- Shortcut: deciding contiguity from where the address comes from
-- (not is_vmalloc_addr(addr)) instead of looking at the frames. Right for
-- kmalloc and for scattered vmalloc buffers; wrong for a one-page vmalloc
-- buffer, or one a fresh machine happened to back with consecutive frames.
-- expect score: 7
-- expect contiguous: fail are consecutive; you said false
answers = answers or {}
answers.pa = 0x0B484000
answers.which = "b"
answers.pa_vmalloc = "c"

function frames_of(addr, size)
  local pfns = {}
  for a = addr, addr + size - 1, PAGE_SIZE do
    if is_vmalloc_addr(a) then
      pfns[#pfns + 1] = vmalloc_to_pfn(a)
    else
      pfns[#pfns + 1] = page_to_pfn(virt_to_page(a))
    end
  end
  return pfns
end

function is_phys_contiguous(addr, size)
  return not is_vmalloc_addr(addr)
end
