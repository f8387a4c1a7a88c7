-- Reference solution for lesson 3 (full marks).
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
  local pfns = frames_of(addr, size)
  for i = 2, #pfns do
    if pfns[i] ~= pfns[i - 1] + 1 then return false end
  end
  return true
end
