-- (pa: the seed-0 variant asks about 0xCB484000.)
-- Common mistake: judging contiguity by virtual addresses (always
-- consecutive) and believing vmalloc memory is physically contiguous.
-- expect score: 5
-- expect which: fail Only virtually for vmalloc
-- expect pa_vmalloc: fail __pa does no page-table walk
-- expect contiguous: fail are not consecutive; you said true
answers = answers or {}
answers.pa = "0xB484000"
answers.which = "c"
answers.pa_vmalloc = "a"

function frames_of(addr, size)
  local pfns = {}
  for a = addr, addr + size - 1, PAGE_SIZE do
    if is_vmalloc_addr(a) then
      pfns[#pfns + 1] = vmalloc_to_pfn(a)
    else
      pfns[#pfns + 1] = __pa(a) >> PAGE_SHIFT
    end
  end
  return pfns
end

function is_phys_contiguous(addr, size)
  -- virtual addresses of a buffer are always consecutive
  return true
end
