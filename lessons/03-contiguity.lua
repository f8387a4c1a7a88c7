-- Lesson 3: physical and virtual contiguity. Vocabulary: lessons/README.md.

-- The frames behind [addr, addr + n), computed with the grader's own
-- (pristine) functions.
local function frames(addr, n)
  local out = {}
  local first = addr - addr % PAGE_SIZE
  for a = first, addr + n - 1, PAGE_SIZE do
    if is_vmalloc_addr(a) then out[#out + 1] = vmalloc_to_pfn(a)
    else out[#out + 1] = page_to_pfn(virt_to_page(a)) end
  end
  return out
end

local function consecutive(list)
  for i = 2, #list do if list[i] ~= list[i - 1] + 1 then return false end end
  return true
end

return lesson{
  id = "03-contiguity",
  title = "Contiguity: physical and virtual addresses",
  text = [[
# Physical and virtual contiguity

Every address your kernel code uses is virtual: the MMU translates it,
page by page, through the page tables into a physical address. Two
consecutive virtual pages may sit anywhere in physical memory. Most of the
time only the CPU looks at memory and nobody cares. A device that reads
memory by physical address (lesson 7), or a huge page, needs the pages
to be physically consecutive as well.

## The direct map

The kernel maps (most of) physical memory once, at boot, at a constant
offset: the direct map, or "lowmem" on 32-bit. On x86_32 with the usual
3G/1G split, physical address P appears at virtual address
PAGE_OFFSET + P, with PAGE_OFFSET = 0xC0000000. Converting is arithmetic:

    __pa(v) = v - PAGE_OFFSET     -- virtual to physical (virt_to_phys)
    __va(p) = p + PAGE_OFFSET     -- physical to virtual (phys_to_virt)

    local p = kmalloc(100, GFP_KERNEL)
    print(string.format("%x -> %x", p, __pa(p)))   --> c1a00000 -> 1a00000

Physical memory is managed in page frames, numbered by the page frame
number: pfn = physical address >> PAGE_SHIFT. Each frame has a
`struct page`; `virt_to_page(v)` finds it for a direct-map address,
`page_to_pfn(page)` gives its number, `pfn_to_page` and `page_to_phys` go
the other way.

Because the direct map is linear, anything allocated from it in one piece
is physically contiguous: the buddy allocator hands out blocks of
consecutive frames, and kmalloc takes its memory from there (a slab, or a
whole block for large sizes). A 32 KiB kmalloc buffer is 8 consecutive
frames.

## vmalloc: contiguous only in virtual space

`vmalloc(size)` allocates pages one at a time, wherever they are free, and
maps them at consecutive virtual addresses in a separate region
(VMALLOC_START .. VMALLOC_END). The buffer looks contiguous to the CPU; the
frames behind it are not, in general. On a freshly booted machine they often
happen to be consecutive, because free memory is one big block -- which is
why this lesson's tasks run on a machine booted with `boot{fragmented=true}`,
like a system that has been up for a while.

For a vmalloc address there is no arithmetic: the kernel walks the page
table. `vmalloc_to_page(v)` and `vmalloc_to_pfn(v)` do that, one page at a
time. `__pa` and `virt_to_page` are only valid in the direct map. With
CONFIG_DEBUG_VIRTUAL (kmlab always has it) `__pa` of a vmalloc address is
`kernel BUG at arch/x86/mm/physaddr.c`; without it you silently get a wrong
number. `is_vmalloc_addr(v)` and `virt_addr_valid(v)` tell the two apart.

## Exercises

Start with `kmlab lesson 3 --template > a3.lua`. Experiment first:

    boot{fragmented = true}
    local v = vmalloc(8 * PAGE_SIZE)
    for i = 0, 7 do print(vmalloc_to_pfn(v + i * PAGE_SIZE)) end
]],
  exercises = {
    question{
      id = "pa", points = 2,
      prompt = "On x86_32 (PAGE_OFFSET = 0xC0000000), what is __pa(0xC1234000)? (an integer; 0x... is fine as a string)",
      answer = numeric(0x01234000),
      feedback = {
        [0xC1234000] = "That is the virtual address itself: the direct map is offset by PAGE_OFFSET.",
        [0x01234] = "That is the page frame number (the address >> 12), not the physical address.",
        [0x81234000] = "__pa subtracts PAGE_OFFSET = 0xC0000000, not 0x40000000.",
      },
      hints = { "__pa(v) = v - PAGE_OFFSET in the direct map.", "0xC1234000 - 0xC0000000" },
    },
    question{
      id = "which", points = 1,
      prompt = "A 64 KiB buffer must be physically contiguous. Which allocation guarantees it?",
      answer = choice{ "vmalloc(65536)", "kmalloc(65536, GFP_KERNEL)", "either: both return contiguous memory", "neither", correct = 2 },
      feedback = {
        a = "vmalloc's buffer is contiguous only in virtual space; its frames come one at a time.",
        c = "Only virtually for vmalloc: look at vmalloc_to_pfn of each of its pages on a fragmented machine.",
        d = "kmalloc takes one block from the buddy allocator (order 4 here): consecutive frames.",
      },
      hints = { "Which one maps pages one by one into a separate virtual region?" },
    },
    question{
      id = "pa_vmalloc", points = 1,
      prompt = "What happens when code calls __pa() on a vmalloc address, on a kernel built with CONFIG_DEBUG_VIRTUAL?",
      answer = choice{
        "it returns the physical address of the first page",
        "it returns 0",
        "a kernel BUG (arch/x86/mm/physaddr.c): __pa is only valid for the direct map",
        "the vmalloc area is mapped linearly too, so it is just v - PAGE_OFFSET",
      correct = 3 },
      feedback = {
        a = "__pa does no page-table walk; it is arithmetic valid only in the direct map. Use vmalloc_to_pfn.",
        d = "The vmalloc area is mapped page by page through page tables, not linearly.",
      },
      hints = { "Try it: pcall(__pa, vmalloc(4096))" },
    },
    task{
      id = "frames", points = 3, expects = "frames_of", template = "addr, size",
      boot = { fragmented = true },
      prompt = "Write frames_of(addr, size): the list of page frame numbers backing the buffer [addr, addr + size), first page first. It must work for kmalloc and for vmalloc buffers (addr is page-aligned here). It is called with a 32 KiB kmalloc buffer and a 32 KiB vmalloc buffer.",
      setup = function()
        return kmalloc(8 * PAGE_SIZE, GFP_KERNEL), vmalloc(8 * PAGE_SIZE)
      end,
      call = function(f, k, v) return f(k, 8 * PAGE_SIZE), f(v, 8 * PAGE_SIZE) end,
      check = function(r)
        local k, v = r.args[1], r.args[2]
        local want = { frames(k, 8 * PAGE_SIZE), frames(v, 8 * PAGE_SIZE) }
        local names = { "the kmalloc buffer", "the vmalloc buffer" }
        for i = 1, 2 do
          local got = r.results[i]
          if type(got) ~= "table" then return fail("frames_of should return a list for " .. names[i] .. ".") end
          if #got ~= 8 then return fail("a 32 KiB buffer has 8 pages; your list for " .. names[i] .. " has " .. #got .. " entries.") end
          for j = 1, 8 do
            if got[j] ~= want[i][j] then
              return fail("entry " .. j .. " for " .. names[i] .. " should be pfn " .. string.format("0x%x", want[i][j]) .. ", got " .. tostring(got[j]) .. ".")
            end
          end
        end
        return pass()
      end,
      hints = {
        "For a direct-map address: page_to_pfn(virt_to_page(a)). For a vmalloc address, virt_to_page is wrong: walk the page table.",
        "if is_vmalloc_addr(a) then pfn = vmalloc_to_pfn(a) else pfn = page_to_pfn(virt_to_page(a)) end, for a = addr, addr + size - 1, PAGE_SIZE",
      },
    },
    task{
      id = "contiguous", points = 3, expects = "is_phys_contiguous", template = "addr, size",
      boot = { fragmented = true },
      prompt = "Write is_phys_contiguous(addr, size): true when the frames behind [addr, addr + size) are consecutive, false otherwise. It is called with a 64 KiB kmalloc buffer and a 64 KiB vmalloc buffer on a machine that has been running for a while.",
      setup = function()
        return kmalloc(16 * PAGE_SIZE, GFP_KERNEL), vmalloc(16 * PAGE_SIZE)
      end,
      call = function(f, k, v) return f(k, 16 * PAGE_SIZE), f(v, 16 * PAGE_SIZE) end,
      check = function(r)
        local k, v = r.args[1], r.args[2]
        local truth_v = consecutive(frames(v, 16 * PAGE_SIZE))
        if r.results[1] ~= true then return fail("the kmalloc buffer is one buddy block: its frames are consecutive, so the answer is true.") end
        if r.results[2] ~= truth_v then
          return fail("the vmalloc buffer's frames are " .. (truth_v and "" or "not ") .. "consecutive; you said " .. tostring(r.results[2]) .. ".")
        end
        return pass()
      end,
      hints = { "Use your frames_of, then compare each pfn with the one before it.", "for i = 2, #pfns do if pfns[i] ~= pfns[i - 1] + 1 then return false end end" },
    },
  },
}
