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
      -- A direct-map address per learner (page-aligned, in lowmem).
      variant = function(rng)
        local pa = rng:int(0x100, 0x37000) * 4096
        return { pa = pa, va = 0xC0000000 + pa }
      end,
      prompt = function(v)
        return string.format("On x86_32 (PAGE_OFFSET = 0xC0000000), what is __pa(0x%08X)? (an integer; 0x... is fine as a string)", v.va)
      end,
      answer = function(v) return numeric(v.pa) end,
      feedback = function(v)
        return {
          [v.va] = "That is the virtual address itself: the direct map is offset by PAGE_OFFSET.",
          [v.pa >> 12] = "That is the page frame number (the address >> 12), not the physical address.",
          [v.va - 0x40000000] = "__pa subtracts PAGE_OFFSET = 0xC0000000, not 0x40000000.",
        }
      end,
      hints = function(v)
        return { "__pa(v) = v - PAGE_OFFSET in the direct map.", string.format("0x%08X - 0xC0000000", v.va) }
      end,
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
        "it returns the physical address of the vmalloc area's first page",
        "it returns 0, the way a failed translation reports an error",
        "a kernel BUG: __pa is arithmetic that is valid only in the direct map",
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
      prompt = "Write frames_of(addr, size): the list of page frame numbers backing the buffer [addr, addr + size), first page first. It must work for kmalloc and for vmalloc buffers (addr is page-aligned here). It is called with a kmalloc buffer and a vmalloc buffer of a few pages each, on fresh and aged machines.",
      cases = function(rng)
        local list = {}
        for _, b in ipairs{ { fragmented = true }, {}, { arch = "x86_64", fragmented = true } } do
          b.seed = rng:int(0, 3)
          list[#list + 1] = { boot = b, pages = { rng:int(1, 8) * 2, rng:int(1, 16) } }
        end
        return list
      end,
      setup = function(case)
        local kp, vp = case.pages[1], case.pages[2]
        return kmalloc(kp * PAGE_SIZE, GFP_KERNEL), kp * PAGE_SIZE, vmalloc(vp * PAGE_SIZE), vp * PAGE_SIZE
      end,
      call = function(f, k, ks, v, vs) return f(k, ks), f(v, vs) end,
      check = function(r)
        local k, ks, v, vs = r.args[1], r.args[2], r.args[3], r.args[4]
        local want = { frames(k, ks), frames(v, vs) }
        local names = { "the " .. ks // 1024 .. " KiB kmalloc buffer", "the " .. vs // 1024 .. " KiB vmalloc buffer" }
        for i = 1, 2 do
          local got = r.results[i]
          local n = #want[i]
          if type(got) ~= "table" then return fail("frames_of should return a list for " .. names[i] .. ".") end
          if #got ~= n then return fail(names[i] .. " has " .. n .. " pages; your list for it has " .. #got .. " entries.") end
          for j = 1, n do
            if got[j] ~= want[i][j] then
              return fail("entry " .. j .. " for " .. names[i] .. " should be pfn " .. string.format("0x%x", want[i][j]) .. ", got " .. tostring(got[j]) .. ".")
            end
          end
        end
        if #r.allocated > 0 then return fail("frames_of should not allocate anything; " .. #r.allocated .. " allocation(s) remain.") end
        return pass()
      end,
      hints = {
        "For a direct-map address: page_to_pfn(virt_to_page(a)). For a vmalloc address, virt_to_page is wrong: walk the page table.",
        "if is_vmalloc_addr(a) then pfn = vmalloc_to_pfn(a) else pfn = page_to_pfn(virt_to_page(a)) end, for a = addr, addr + size - 1, PAGE_SIZE",
      },
    },
    task{
      id = "contiguous", points = 3, expects = "is_phys_contiguous", template = "addr, size",
      prompt = "Write is_phys_contiguous(addr, size): true when the frames behind [addr, addr + size) are consecutive, false otherwise. It is called with kmalloc and vmalloc buffers of various sizes, on fresh machines and on machines that have been running for a while: look at the frames, not at where the address comes from.",
      -- Buffers where the allocator does not decide the answer: a vmalloc
      -- buffer is contiguous when it has one page, and often on a fresh
      -- machine; scattered on an aged one. Each case's truth is measured.
      cases = function(rng)
        local function seed() return rng:int(0, 3) end
        local list = {
          { boot = { fragmented = true, seed = seed() }, kind = "vmalloc", pages = 16 },
          { boot = { seed = seed() }, kind = "vmalloc", pages = rng:int(2, 8) },
          { boot = { fragmented = true, seed = seed() }, kind = "vmalloc", pages = 1 },
          { boot = { fragmented = true, seed = seed() }, kind = "kmalloc", pages = rng:int(2, 16) },
          { boot = { arch = "x86_64", seed = seed() }, kind = "vmalloc", pages = rng:int(1, 4) },
          { boot = { arch = "x86_64", fragmented = true, seed = seed() }, kind = "vmalloc", pages = rng:int(8, 32) },
        }
        rng:shuffle(list)
        for _, c in ipairs(list) do c.label = "a " .. c.pages .. "-page " .. c.kind .. " buffer on a " .. (c.boot.fragmented and "fragmented " or "fresh ") .. (c.boot.arch or "x86_32") .. " machine" end
        return list
      end,
      setup = function(case)
        local n = case.pages * PAGE_SIZE
        local p = case.kind == "vmalloc" and vmalloc(n) or kmalloc(n, GFP_KERNEL)
        case.truth = consecutive(frames(p, n))
        return p, n
      end,
      check = function(r)
        local truth = r.case.truth
        if r.returned ~= truth then
          local why = r.case.kind == "kmalloc" and " (a kmalloc buffer is one buddy block)" or
            (truth and " (vmalloc does not promise scattered frames either: here they happen to be consecutive)" or " (vmalloc maps its pages one at a time)")
          return fail("its frames are " .. (truth and "" or "not ") .. "consecutive; you said " .. tostring(r.returned) .. why .. ".", { hint = "look" })
        end
        if #r.allocated > 0 then return fail("is_phys_contiguous should not allocate anything; " .. #r.allocated .. " allocation(s) remain.") end
        return pass()
      end,
      hints = { "Use your frames_of, then compare each pfn with the one before it.", "for i = 2, #pfns do if pfns[i] ~= pfns[i - 1] + 1 then return false end end",
                look = { "Whether an address is a vmalloc address says how it is mapped, not where its frames are: list the frames and compare neighbours." } },
      explain = "Physical contiguity is a property of the frames, which you read from the page tables (vmalloc_to_pfn) or the direct map (virt_to_page). vmalloc guarantees nothing either way: one page is always contiguous, and a fresh machine often hands out consecutive frames.",
    },
  },
}
