-- Lesson 5: execution contexts and GFP flags. Vocabulary: lessons/README.md.

local function use_up_high_orders()
  for order = MAX_PAGE_ORDER, 3, -1 do
    while __get_free_pages(GFP_ATOMIC | __GFP_NOWARN, order) do end
  end
end

local function is_buffer(p, len)
  if math.type(p) ~= "integer" then return false end
  local ok, size = pcall(ksize, p)
  return ok and math.type(size) == "integer" and size >= len
end

return lesson{
  id = "05-contexts-gfp",
  title = "Contexts and GFP flags: who may sleep",
  text = [[
# Contexts and GFP flags

The same kmalloc call is right in one place and a bug in another. What
decides is the *context* the code runs in, and the GFP flags it passes.

## Process context, interrupt context, atomic context

* **Process context**: code running on behalf of a task -- a system call, a
  module's init function, a kernel thread, a work item. `current` is that
  task; the code may sleep: block on a mutex, wait for I/O, let the
  scheduler run someone else.
* **Interrupt context**: a hardware interrupt handler (hardirq), or a
  softirq/tasklet run on the way out of one. It borrowed the CPU from
  whatever task was running; it has no task of its own to put to sleep, so
  it must never sleep. Interrupts are off on this CPU while a hardirq
  handler runs.
* **Atomic context** in general: anywhere sleeping is forbidden. Holding a
  spinlock makes the code atomic too (preemption is off; another CPU may be
  spinning on the lock), and `spin_lock_irqsave` also turns interrupts off.

kmlab lets you ask where you are: `in_irq()`, `in_softirq()`,
`in_interrupt()`, `in_task()`, `in_atomic()`, `irqs_disabled()`,
`current.comm`.

A system call is not an interrupt. The user program executes a trap
instruction and the kernel runs the syscall in the process context of the
calling task: it may sleep (that is how read() waits for data).

## GFP flags decide whether the allocator may sleep

An allocation may sleep if and only if its flags contain
`__GFP_DIRECT_RECLAIM` (`gfpflags_allow_blocking()`): then, when memory is
short, the allocator reclaims and compacts memory itself, and waits.

| flags | value | may sleep | for |
| --- | --- | --- | --- |
| GFP_KERNEL | 0xcc0 (__GFP_RECLAIM, __GFP_IO, __GFP_FS) | yes | process context: the default |
| GFP_ATOMIC | 0x820 (__GFP_HIGH, __GFP_KSWAPD_RECLAIM) | no | interrupt handlers, under spinlocks |
| GFP_NOWAIT | 0x2800 (__GFP_KSWAPD_RECLAIM, __GFP_NOWARN) | no | "try, but do not wait and do not dig into reserves" |
| GFP_NOIO / GFP_NOFS | 0xc00 / 0xc40 | yes | process context inside block I/O or filesystem code |

(GFP_ATOMIC was 0xa20 before 6.3, when it also carried ___GFP_ATOMIC.)
GFP_ATOMIC's `__GFP_HIGH` lets it dip below the min watermark into a
reserve kept for exactly such callers; it cannot reclaim, so it fails more
readily than GFP_KERNEL. GFP_KERNEL in process context is not just allowed,
it is *better*: it can make room, and a large allocation that GFP_ATOMIC
fails on a fragmented machine (lesson 8) often succeeds.

## The sleeping-in-atomic BUG

A debug kernel (CONFIG_DEBUG_ATOMIC_SLEEP) checks every function that might
sleep, and prints when it is called from atomic context:

    BUG: sleeping function called from invalid context at include/linux/sched/mm.h:306
    in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod
    preempt_count: 10000, expected: 0
    ...
    Call Trace:
     <IRQ>
     ...

Despite the `BUG:`, it is a warning: execution continues, and on a
production kernel nothing is printed at all -- until the day the
allocation really sleeps inside an interrupt handler and the machine
deadlocks or crashes. kmlab always checks. GFP_KERNEL allocations,
`vmalloc` (it allocates with GFP_KERNEL and maps pages), `msleep`,
`mutex_lock` and `copy_to_user` all may sleep.

Try it:

    request_irq(11, function()
      local p = kmalloc(256, GFP_KERNEL)   -- wrong here
      kfree(p)
      return IRQ_HANDLED
    end, 0, "mydev", nil)
    raise_irq(11)
    print(dmesg())

## Exercises

Start with `kmlab lesson 5 --template > a5.lua`. The tasks call your
functions in the context their prompt names: from an interrupt handler,
with a spinlock held, or as a system call.
]],
  exercises = {
    question{
      id = "irq_flags", points = 2,
      prompt = "Which GFP flags does an interrupt handler pass to kmalloc: flags that never sleep and may use the emergency reserves? (the constant, e.g. answers.irq_flags = GFP_SOMETHING)",
      answer = exact(GFP_ATOMIC),
      accept = { "GFP_ATOMIC" },
      feedback = {
        [GFP_KERNEL] = "GFP_KERNEL can sleep (it includes __GFP_DIRECT_RECLAIM); an interrupt handler cannot.",
        ["GFP_KERNEL"] = "GFP_KERNEL can sleep (it includes __GFP_DIRECT_RECLAIM); an interrupt handler cannot.",
        [GFP_NOWAIT] = "GFP_NOWAIT never sleeps either, but it does not use the reserves (no __GFP_HIGH) and does not even warn on failure.",
        [GFP_NOIO] = "GFP_NOIO still sleeps (direct reclaim), it only avoids starting I/O.",
      },
      hints = { "The flag set whose name says it cannot be interrupted by sleep.", "answers.irq_flags = GFP_ATOMIC" },
    },
    question{
      id = "kernel_value", points = 1,
      prompt = "What is the value of GFP_KERNEL in current kernels? (a number; \"0x...\" is fine)",
      answer = numeric(0xcc0),
      feedback = {
        [0x820] = "0x820 is GFP_ATOMIC.",
        [0xc00] = "0xc00 is __GFP_RECLAIM alone (GFP_NOIO); GFP_KERNEL adds __GFP_IO and __GFP_FS.",
        [0x400] = "0x400 is __GFP_DIRECT_RECLAIM alone.",
      },
      hints = { "__GFP_RECLAIM (0xc00) | __GFP_IO (0x40) | __GFP_FS (0x80)", "print(string.format(\"0x%x\", GFP_KERNEL))" },
    },
    question{
      id = "syscall", points = 1,
      prompt = "A read() system call handler needs a 4 KiB bounce buffer. Which flags?",
      answer = choice{
        "GFP_ATOMIC: a syscall is entered through an interrupt",
        "GFP_KERNEL: a syscall runs in the process context of the calling task and may sleep",
        "GFP_NOWAIT: syscalls must never block",
        "it cannot allocate at all",
      correct = 2 },
      feedback = {
        a = "A syscall is entered through a trap instruction, not a hardware interrupt: the kernel runs it in the caller's process context.",
        c = "Syscalls block all the time: read() waiting for data is the classic case.",
      },
      hints = { "What is current while a syscall runs?" },
    },
    task{
      id = "irq_alloc", points = 3, expects = "rx_alloc", template = "len",
      context = "hardirq",
      prompt = "Write rx_alloc(len): called from a network card's interrupt handler (hardirq context) when a packet of len bytes arrives; return a buffer of at least len bytes for it, or nil if there is no memory.",
      setup = function() return 1514 end,
      check = function(r)
        if not is_buffer(r.returned, 1514) then
          return fail("rx_alloc(1514) should return a kmalloc buffer of at least 1514 bytes; got " .. tostring(r.returned) .. ".")
        end
        return pass()
      end,
      hints = { "You are in an interrupt handler: which flags never sleep?", "return kmalloc(len, GFP_ATOMIC)" },
    },
    task{
      id = "under_lock", points = 2, expects = "new_node", template = "value",
      context = "spinlock",
      prompt = "Write new_node(value): called with the list's spinlock held; allocate a 16-byte node, store value in its first 4 bytes (string.pack(\"<I4\", value)) and return it (nil on failure).",
      setup = function() return 42 end,
      check = function(r)
        if not is_buffer(r.returned, 16) then return fail("new_node(42) should return a 16-byte node; got " .. tostring(r.returned) .. ".") end
        local ok, bytes = pcall(peek, r.returned, 4)
        if not ok or bytes ~= string.pack("<I4", 42) then return fail("the node's first 4 bytes should hold 42 (string.pack(\"<I4\", value)).") end
        return pass()
      end,
      hints = { "A spinlock is held: the code is atomic even though it is not an interrupt.", "kmalloc(16, GFP_ATOMIC)" },
    },
    task{
      id = "syscall_alloc", points = 3, expects = "sys_setup_buffer", template = "size",
      context = "syscall", boot = { fragmented = true },
      prompt = "Write sys_setup_buffer(size): the handler of a syscall that allocates a physically contiguous 2 MiB buffer (kmalloc) for the device and keeps it (store it in a global); return 0, or -ENOMEM when the allocation fails. The machine has been up for weeks: free memory is fragmented.",
      setup = function()
        use_up_high_orders()
        return 2 * 1024 * 1024
      end,
      check = function(r)
        if r.returned == -ENOMEM then
          return fail("the allocation failed. In a syscall you are in process context and may sleep: GFP_KERNEL lets the allocator reclaim and compact memory to make a 2 MiB block; GFP_ATOMIC cannot.")
        end
        if r.returned ~= 0 then return fail("sys_setup_buffer should return 0 on success; got " .. tostring(r.returned) .. ".") end
        if r.leaked ~= 1 then return fail("after the syscall, the 2 MiB buffer should still be allocated (" .. r.leaked .. " allocations are).") end
        return pass()
      end,
      hints = { "Which flags may sleep to make room, and are you allowed to sleep here?", "buffer = kmalloc(size, GFP_KERNEL); if not buffer then return -ENOMEM end; return 0" },
    },
  },
}
