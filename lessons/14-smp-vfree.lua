-- Lesson 14: SMP and the cost of vfree. Vocabulary: lessons/README.md.

-- mm/vmalloc.c lazy_max_pages(): fls(num_online_cpus()) * 32 MiB, in pages.
local function fls(n)
  local b = 0
  while n > 0 do b, n = b + 1, n >> 1 end
  return b
end
local function lazy_max(cpus) return fls(cpus) * 8192 end

-- IPIs of n vfree(vmalloc(pages * PAGE_SIZE)) pairs on a fresh x86_64
-- machine: each vfree adds pages + 1 (the guard page) to the lazy count; the
-- vfree that takes it past lazy_max purges, with one IPI per other CPU.
local function purges(cpus, pages, n)
  local per = lazy_max(cpus) // (pages + 1) + 1
  return n // per
end

return lesson{
  id = "14-smp-vfree",
  title = "SMP and the cost of vfree",
  text = [[
# SMP and the cost of vfree

Lesson 4 measured what vmalloc costs one CPU: a page-table entry per page,
a TLB miss per page touched, a TLB flush when the area is freed. A real
machine has many CPUs, and each CPU has a TLB of its own. This lesson is
about what that does to vfree, and how the kernel keeps the bill small.

## CPUs in kmlab

`boot{cpus = N}` brings N CPUs online (1 to 64; the default is one, the
machine of the earlier lessons). Your script runs on CPU 0. Two kernel
functions run code on another CPU:

    boot{cpus = 4}
    print(num_online_cpus())                    --> 4
    work_on_cpu(2, function()                   -- process context, kworker/2:1
      print(smp_processor_id(), current.comm)   --> 2  kworker/2:1
    end)
    smp_call_function_single(3, function(info)  -- an IPI: hardirq context on CPU 3
      print(smp_processor_id(), in_irq(), info) --> 3  true  hello
    end, "hello", true)

`smp_call_function_single` sends CPU 3 an inter-processor interrupt (IPI):
CPU 3 stops what it was doing (here: idling as swapper/3), runs the
function with interrupts off, and goes back. An IPI costs both CPUs
microseconds, and the other CPU's work waits meanwhile.

Ask `smp_processor_id()` from code that can be preempted (the script's own
task, interrupts on, no lock held) and the debug kernel complains: `BUG:
using smp_processor_id() in preemptible [00000000] code: insmod/412`. The
scheduler could move the task to another CPU right after the call, so the
number could be wrong by the time it is used. Under a spinlock, with
interrupts off, in an interrupt handler or in a per-CPU kworker the CPU
cannot change and the question is fine.

## A freed mapping lives on in other TLBs

When code on CPU 2 reads a vmalloc buffer, CPU 2's TLB caches the
translations. Now CPU 0 calls `vfree`. Clearing the page-table entries is
not enough: CPU 2 may still hold a translation to the old pages. If the
range went to the next `vmalloc` at once, its new owner's accesses on CPU 2
could reach the freed pages -- which by then belong to someone else.

So every CPU must flush the range before it is reused. The CPU that frees
flushes its own TLB; every other online CPU must be sent an IPI to flush
its own (`flush_tlb_kernel_range()` in arch/x86/mm/tlb.c). On 8 CPUs that
is 7 IPIs. Paying that at every vfree would make vfree the most expensive
call in this course.

## The kernel batches: lazy purging

The kernel does not flush at vfree. `vfree` clears the PTEs, gives the
pages back to the buddy allocator at once (they are nobody's memory any
more), and puts the address range on a purge list: it is gone from
/proc/vmallocinfo, but no `vmalloc` gets it yet. The ranges wait until

* more than `lazy_max_pages()` pages are waiting (mm/vmalloc.c): 32 MiB
  times fls(num_online_cpus()), fls being the kernel's "find last set bit"
  -- 64 MiB with 2 or 3 CPUs, 128 MiB with 8 (guard pages count too); or
* `vmalloc` runs out of address space (then it purges and tries again); or
* someone calls `vm_unmap_aliases()`.

Then one flush covering the whole span of the list goes to every CPU --
page by page up to 33 pages, otherwise the whole TLB -- and all the
ranges are free again. One round of IPIs pays for thousands of vfrees.

You can watch it:

    for _, cpus in ipairs{1, 2, 8} do
      boot{arch = "x86_64", cpus = cpus}
      local s0, t0 = stats(), ktime_get_ns()
      for i = 1, 10000 do vfree(vmalloc(4 * PAGE_SIZE)) end
      local s1 = stats()
      print(cpus, s1.ipis - s0.ipis, s1.tlb_shootdowns - s0.tlb_shootdowns,
            (ktime_get_ns() - t0) // 10000)
    end

kmlab gives, for 10,000 pairs of 16 KiB (five pages with the guard page):

    cpus   IPIs   shootdowns   ns per pair   with vm_unmap_aliases() after each vfree
       1      0            0          1820       0 IPIs, 1820 ns
       2      3            3          1321   10000 IPIs, 4320 ns
       8      7            7          1322   70000 IPIs, 19320 ns

With two CPUs a purge comes every 3,277 vfrees (16384 pages / 5, and one
more to go past it); with eight, every 6,554. Flushing at every vfree
instead would cost one IPI per other CPU per vfree: 7 per vfree on 8 CPUs,
and fifteen times the time. That is why the kernel batches.

kmlab simplifies one thing: with a single CPU it flushes at vfree, as the
earlier lessons measured (a real kernel batches there too, but saves only
local flushes: there is nobody to interrupt).

## Where the IPIs show

/proc/interrupts has a column per CPU. The purge's IPIs are counted on the
CPUs that received them, in the `CAL:` row ("Function call interrupts"):
on x86, `flush_tlb_kernel_range()` (arch/x86/mm/tlb.c) runs the flush on
every CPU with `on_each_cpu()`, a function-call IPI. The `TLB:` row ("TLB shootdowns")
counts only flushes of a user process's address space. `stats()` has both
totals: `ipis` (every IPI sent) and `tlb_shootdowns` (flushes done on
another CPU).

## What a driver takes from this

* vmalloc and vfree belong to set-up and tear-down, not to a hot path: even
  batched, each pair costs page allocations, PTE writes and, now and then,
  a round of IPIs that interrupts every CPU.
* After vfree the range is not reusable and other CPUs may still translate
  it until the purge. When that matters (before the pages' attributes are
  changed, before a module hands its memory on), free everything first and
  call `vm_unmap_aliases()` once: one round of IPIs for all of it.

## Exercises

Start with `kmlab lesson 14 --template > a14.lua`.
]],
  exercises = {
    question{
      id = "lazy_max", points = 2,
      explain = "The kernel's lazy_max_pages() (mm/vmalloc.c) is fls(num_online_cpus()) * (32 MiB / PAGE_SIZE): it grows with the logarithm of the CPU count, because a purge's IPIs cost more the more CPUs there are, so bigger machines batch more.",
      variant = function(rng)
        local cpus = rng:pick{ 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32 }
        return { cpus = cpus, pages = lazy_max(cpus) }
      end,
      prompt = function(v)
        return "On a kernel with " .. v.cpus .. " CPUs online, how many pages of freed vmap areas may wait on the purge list before vfree schedules a purge (the kernel's lazy_max_pages(), mm/vmalloc.c)?"
      end,
      answer = function(v) return numeric(v.pages) end,
      feedback = function(v)
        return {
          [8192] = "8192 pages (32 MiB) is the figure for one CPU; it grows with the number of CPUs.",
          [v.cpus * 8192] = "Not 32 MiB per CPU: the multiplier is the kernel's fls(" .. v.cpus .. "), the position of the highest set bit, so it grows like a logarithm.",
          [v.pages * 4096] = "That is in bytes; the question asks for pages of 4 KiB.",
          [v.pages // 256] = "That is in MiB; the question asks for pages.",
        }
      end,
      hints = function(v)
        return { "32 MiB times the kernel's fls(num_online_cpus()), counted in pages.",
                 "The kernel's fls(" .. v.cpus .. ") is the number of bits needed to write " .. v.cpus .. "; 32 MiB is 8192 pages." }
      end,
    },
    question{
      id = "ipis", points = 2,
      explain = "Each vfree adds its pages and its guard page to the lazy count; the vfree that takes the count past the kernel's lazy_max_pages() purges, and a purge sends one IPI to each other CPU. Thousands of vfrees cost a handful of IPIs.",
      variant = function(rng)
        local cpus = rng:pick{ 2, 3, 4, 6, 8 }
        local pages = rng:int(2, 15)
        local n = rng:int(20, 60) * 1000
        return { cpus = cpus, pages = pages, n = n, ipis = purges(cpus, pages, n) * (cpus - 1), purges = purges(cpus, pages, n) }
      end,
      prompt = function(v)
        return "After boot{arch = \"x86_64\", cpus = " .. v.cpus .. "}, a loop runs vfree(vmalloc(" .. v.pages .. " * PAGE_SIZE)) " .. v.n .. " times. How many IPIs do those vfrees send (stats().ipis)?"
      end,
      answer = function(v) return numeric(v.ipis) end,
      feedback = function(v)
        local fb = {
          [v.n * (v.cpus - 1)] = "That is a flush at every vfree. vfree only queues the range; a purge comes once the waiting pages pass the kernel's lazy_max_pages().",
          [v.n] = "One IPI per vfree would be no batching at all; and a purge interrupts every other CPU, not one.",
          [0] = "The pages waiting for a purge do pass the kernel's lazy_max_pages() in this loop: count the purges.",
        }
        if v.purges ~= v.ipis then
          fb[v.purges] = v.purges .. " is the number of purges; each sends an IPI to every CPU but the one purging."
        end
        return fb
      end,
      hints = function(v)
        return { "Each vfree adds " .. v.pages .. " + 1 pages (the guard page) to the waiting count; the purge comes at the vfree that takes it past the kernel's lazy_max_pages().",
                 "Measure it: boot{arch = \"x86_64\", cpus = " .. v.cpus .. "}, run the loop, compare stats().ipis before and after." }
      end,
    },
    question{
      id = "stale", points = 1,
      explain = "vfree has cleared the PTEs and freed the pages, but another CPU's TLB can still translate the range to those pages until the purge flushes it; a new owner of the range using that CPU would reach memory that now belongs to someone else.",
      prompt = "On an SMP kernel, vfree has cleared an area's page-table entries. Why may the next vmalloc not get the area's virtual range before the purge?",
      answer = choice{
        "another CPU's TLB may still translate it to the freed pages",
        "the area's pages are only given back to the buddy allocator by the purge",
        "the area's page-table entries are only cleared by the purge, not by vfree",
        "/proc/vmallocinfo lists the area until the purge, so it still counts as allocated",
      correct = 1 },
      feedback = {
        b = "The pages go back at vfree: watch /proc/buddyinfo or stats().page_frees. What waits is the address range.",
        c = "vfree clears the PTEs itself (stats().ptes_cleared); it is the TLB flush that waits.",
        d = "The area leaves /proc/vmallocinfo at vfree; only its range stays reserved.",
      },
      hints = { "What has CPU 2 cached about the area that CPU 0's vfree cannot clear by writing page tables?" },
    },
    question{
      id = "cal_row", points = 1,
      explain = "The kernel's flush_tlb_kernel_range() (arch/x86/mm/tlb.c) uses on_each_cpu(), which sends function-call IPIs (CALL_FUNCTION_VECTOR): they count in CAL. irq_tlb_count, the TLB row, is incremented only by flush_tlb_func(), the shootdown of a user address space.",
      prompt = "On an 8-CPU x86 machine a purge of lazily freed vmap areas sends its IPIs. Which row of /proc/interrupts counts them on the CPUs that receive them?",
      answer = choice{
        "TLB: TLB shootdowns",
        "CAL: Function call interrupts",
        "RES: Rescheduling interrupts",
        "PMI: Performance monitoring interrupts",
      correct = 2 },
      feedback = {
        a = "Plausible, but the TLB row counts flushes of user address spaces (flush_tlb_func). A kernel range flush is sent with the kernel's on_each_cpu(): try it and read /proc/interrupts.",
        c = "Rescheduling interrupts wake a CPU to run another task; a purge asks the CPU to run a flush function.",
        d = "Performance monitoring interrupts come from the CPU's event counters (perf), not from another CPU.",
      },
      hints = { "Boot with cpus = 8, make a purge happen (vfree some vmalloc areas, then vm_unmap_aliases()), and compare cat(\"/proc/interrupts\") before and after." },
    },
    task{
      id = "free_all", points = 4, expects = "free_all", template = "bufs",
      explain = "vfree each buffer, then one vm_unmap_aliases(): the ranges are purged together, every other CPU gets one IPI, and no TLB keeps a translation to the freed buffers. A vm_unmap_aliases() per buffer sends one round of IPIs per buffer; none leaves the ranges waiting.",
      prompt = "Write free_all(bufs): bufs is a list of vmalloc buffers (addresses) a driver's remove function is done with; code on several CPUs has used them. Free them all, and make sure that when free_all returns no CPU still holds a translation to any of them (their ranges purged, free for the next vmalloc) -- with no more IPIs than one purge needs. It is called on machines with 1 to 8 CPUs.",
      cases = function(rng)
        local list = {}
        for _, cpus in ipairs{ 1, 2, rng:int(3, 8) } do
          for _, arch in ipairs{ "x86_32", "x86_64" } do
            local sizes = {}
            for i = 1, rng:int(2, 9) do sizes[i] = rng:int(1, 16) * 4096 - rng:int(0, 4000) end
            list[#list + 1] = { boot = { arch = arch, cpus = cpus }, sizes = sizes,
                                label = #sizes .. " buffers on " .. cpus .. " CPU" .. (cpus > 1 and "s" or "") .. " (" .. arch .. ")" }
          end
        end
        return list
      end,
      setup = function(case)
        case = type(case) == "table" and case or { sizes = { 8192, 4096, 20000 } }
        local bufs = {}
        for i, size in ipairs(case.sizes) do bufs[i] = vmalloc(size) end
        -- Every CPU reads every buffer: each TLB holds translations.
        for cpu = 0, num_online_cpus() - 1 do
          work_on_cpu(cpu, function()
            for _, p in ipairs(bufs) do peek(p) end
          end)
        end
        case.bufs, case.first = {}, bufs[1]
        for i, p in ipairs(bufs) do case.bufs[i] = p end
        return bufs
      end,
      check = function(r)
        local case = r.case
        local cpus = num_online_cpus()
        local info = proc("/proc/vmallocinfo")
        for _, p in ipairs(case.bufs) do
          if info:find(string.format("0x%x-", p), 1, true) then
            return fail(string.format("the buffer at 0x%x is still allocated (it is in /proc/vmallocinfo).", p), { hint = "free" })
          end
        end
        if #r.allocated > 0 then return fail("free_all allocated memory it did not free.") end
        local ipis = r.stats_after.ipis - r.stats_before.ipis
        local shootdowns = r.stats_after.tlb_shootdowns - r.stats_before.tlb_shootdowns
        if cpus > 1 and shootdowns == 0 then
          return fail("the buffers are freed, but their ranges still wait for the purge: the other CPUs may still translate them, and no vmalloc can reuse them yet. Make the purge happen before returning.", { hint = "purge" })
        end
        if ipis > cpus - 1 then
          return fail("that took " .. ipis .. " IPIs; one purge of all the buffers needs " .. (cpus - 1) .. " (one per other CPU). Batch: purge once, after the last vfree.", { hint = "batch" })
        end
        -- The lowest freed range is a hole again: the next vmalloc of the
        -- first buffer's size gets its address back.
        local again = vmalloc(case.sizes[1])
        local reused = again == case.first
        vfree(again)
        vm_unmap_aliases()
        if not reused then
          return fail(string.format("the range of the buffer at 0x%x is not free again after free_all: it still waits for a purge.", case.first), { hint = "purge" })
        end
        return pass()
      end,
      hints = {
        "vfree each buffer; then make the kernel purge the lazily freed ranges once.",
        "for _, p in ipairs(bufs) do vfree(p) end  vm_unmap_aliases()",
        free = { "Every buffer in bufs must be vfree'd." },
        purge = { "vfree leaves the range on the purge list; vm_unmap_aliases() purges it now, with one IPI per other CPU." },
        batch = { "vm_unmap_aliases() after each vfree sends a round of IPIs per buffer; call it once, after the loop." },
      },
    },
  },
}
