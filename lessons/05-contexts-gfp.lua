-- Lesson 5: execution contexts and GFP flags. Vocabulary: lessons/README.md.

-- The lines and names the tasks use.
local IRQ = 11
local MSG = "temperature=41C"

-- The bytes at addr, or nil (learner-supplied addresses: never raise).
local function bytes_at(addr, n)
  if math.type(addr) ~= "integer" then return nil end
  local ok, s = pcall(peek, addr, n)
  if ok then return s end
  return nil
end

return lesson{
  id = "05-contexts-gfp",
  title = "Contexts and GFP flags: who may sleep",
  text = [[
# Contexts and GFP flags

The same line of kernel code can be right in one place and a bug in
another:

    buf = kmalloc(size, GFP_KERNEL);

`GFP_KERNEL` allows the allocator to *sleep*: when free memory is short it
reclaims (writes back dirty pages, shrinks caches, waits for I/O) and the
calling task is put to sleep meanwhile. Whether sleeping is allowed depends
on the context the CPU is executing in.

## Process context: syscalls, module init, work items

A system call (`read`, `write`, `ioctl`...) is a *trap*: the user program
executes the syscall instruction and the CPU enters the kernel on behalf
of that program. The kernel code runs in process context -- `current` is
the calling task, the scheduler can put it to sleep and run something else
until it can go on. Module init functions and work items (kworkers) are
process context too. There `GFP_KERNEL` is the right choice: it is the
flag that tries hardest and fails least.

In kmlab the script itself runs as a task (`insmod`), and
`user.syscall(name, ...)` traps into a syscall you defined:

    SYSCALL_DEFINE("hello", function(n)
      print(current.comm, in_task(), in_atomic())   --> a.out  true  false
      local p = kmalloc(n, GFP_KERNEL)              -- fine: process context
      kfree(p)
      return 0
    end)
    user.syscall("hello", 100)

## Interrupt context: handlers may not sleep

A hardware interrupt stops whatever the CPU was doing -- a user program, a
syscall, the idle loop -- and runs the handler at once, with interrupts
disabled on that CPU. The handler has no task of its own: it borrows the
interrupted one, and there is nobody to put to sleep. An interrupt
handler, and a softirq or tasklet after it, must never sleep: no
`GFP_KERNEL`, no `vmalloc`, no `mutex_lock`, no `msleep`, no
`copy_to_user`.

    request_irq(11, function(irq, dev)
      print(in_irq(), in_atomic(), irqs_disabled())   --> true  true  true
      local p = kmalloc(64, GFP_ATOMIC)               -- may not sleep
      kfree(p)
      return IRQ_HANDLED
    end, 0, "demo", nil)
    raise_irq(11)     -- the simulated hardware asserts line 11

What to pass instead, from include/linux/gfp_types.h and the kernel's
memory allocation guide (Documentation/core-api/memory-allocation.rst):

- `GFP_NOWAIT` (`__GFP_KSWAPD_RECLAIM` = 0x800 in 6.12, the release kmlab
  models; 6.18 added `__GFP_NOWARN`): no direct reclaim; it wakes kswapd
  and fails if no free page is at hand.
  The guide's default for atomic context, for allocations with a fallback.
- `GFP_ATOMIC` (`__GFP_HIGH | __GFP_KSWAPD_RECLAIM` = 0x820): also never
  sleeps, and `__GFP_HIGH` lets it dip below the zone's min watermark into
  reserves kept for exactly this. For when the system "will be stressed
  unless allocation succeeds" (lesson 6 is about what to do when even that
  fails).

The rule behind all of them: an allocation may sleep if and only if
`__GFP_DIRECT_RECLAIM` (0x400) is set -- the kernel's
`gfpflags_allow_blocking()`. `GFP_KERNEL` is 0xcc0 = `__GFP_RECLAIM`
(direct 0x400 + kswapd 0x800) `| __GFP_IO | __GFP_FS`. `GFP_NOIO` and
`GFP_NOFS` keep direct reclaim: they only forbid starting I/O or
filesystem work while reclaiming, so they sleep just the same.

## Spinlocks make any context atomic

A spinlock protects data shared with code that cannot sleep (an interrupt
handler, another CPU). `spin_lock` disables preemption: while you hold
it the task must not be scheduled out, or another CPU could spin for ever
waiting for a lock whose holder sleeps. So between `spin_lock` and
`spin_unlock` even a syscall is atomic context: `in_atomic()` is true and
`GFP_KERNEL` is a bug there.

If the lock is also taken by an interrupt handler, process context must
take it with `spin_lock_irqsave` (which also disables interrupts): with
plain `spin_lock`, an interrupt arriving on the same CPU while the lock is
held would spin on it for ever -- its holder cannot run again until the
handler returns. lockdep, the kernel's lock validator, reports the danger
the first time it sees the lock used both ways, whether or not the
interrupt actually arrives at the bad moment ("WARNING: inconsistent lock
state").

The usual pattern: allocate first, with `GFP_KERNEL`, then take the lock
only to link the new object in.

    local p = kmalloc(n, GFP_KERNEL)          -- may sleep: no lock held yet
    if not p then return -ENOMEM end
    local flags = spin_lock_irqsave(q.lock)   -- atomic from here
    q.items[#q.items + 1] = p
    spin_unlock_irqrestore(q.lock, flags)

## The sleeping-in-atomic BUG

A sleeping allocation in atomic context usually *works*: if a free page is
at hand, the allocator never needs to sleep. It goes wrong only under
memory pressure -- the task sleeps with a spinlock held or inside an
interrupt, and the machine deadlocks or crashes ("scheduling while
atomic"). Such a bug can hide for years. So a debug kernel
(CONFIG_DEBUG_ATOMIC_SLEEP) checks every call that *might* sleep, whether
or not it does, in `__might_resched()` (kernel/sched/core.c). kmlab always
checks. Calling `kmalloc(64, GFP_KERNEL)` from the handler above prints:

    BUG: sleeping function called from invalid context at include/linux/sched/mm.h:306
    in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod
    preempt_count: 10000, expected: 0
    RCU nest depth: 0, expected: 0
    no locks held by insmod/412.
    CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G           O       6.12.0 #1
    Call Trace:
     <IRQ>
     dump_stack_lvl
     __might_resched
     kmalloc
     ...

Read it line by line: where the might-sleep check sits (`might_alloc()` in
include/linux/sched/mm.h for an allocation); `in_atomic(): 1` and
`irqs_disabled(): 1` say why it is invalid; pid and name are the task the
handler borrowed; `preempt_count: 10000` is the hardirq bit
(HARDIRQ_OFFSET = 0x10000) -- under a spinlock in a syscall it reads
`preempt_count: 1`; the Call Trace, between `<IRQ>` markers, shows the
handler and the function that called the sleeping one. `Tainted: G ... O`
is the taint string: `O` because your code is an out-of-tree module, and a
`W` joins it after the first warning. Despite its `BUG:`
prefix this report is a warning: execution continues. It is rate-limited
(one per second), so fix the first one and look again.

Simplifications: kmlab has one CPU, and it always counts the preempt count
under spinlocks. A production kernel without CONFIG_PREEMPT_COUNT does not,
so `in_atomic()` cannot see a spinlock there: never use it to choose your
flags at run time -- the code's author knows the context and passes the
flags (the kernel's own functions take a `gfp_t` argument for this reason).

## Exercises

`kmlab lesson 5 --template > a5.lua` writes a starting file; answer the
questions with letters ("a", or "bd" where several are right) or numbers,
define the two functions, then `kmlab check 5 a5.lua` (add `--hint` when
stuck). Try your functions first with `kmlab run`: the examples above are a
good start.
]],
  exercises = {
    question{
      id = "syscall_flags", points = 1,
      prompt = "The write() syscall of your driver needs a 4 KiB buffer to copy the user's data into. In which context does it run, and which flags should it pass to kmalloc?",
      answer = choice{
        "process context, GFP_KERNEL",
        "interrupt context, GFP_ATOMIC",
        "process context, but GFP_ATOMIC to be safe",
        "a syscall may not allocate memory",
      correct = 1 },
      feedback = {
        b = "A syscall is a trap, not an interrupt: the kernel runs in the process context of the calling program, and may sleep.",
        c = "GFP_ATOMIC is not 'safer': it cannot reclaim, so it fails more often, and it drains the reserves that interrupt handlers need. In process context, GFP_KERNEL.",
        d = "Syscalls allocate all the time, in process context, with GFP_KERNEL.",
      },
      hints = { "Does the user program's syscall instruction raise a hardware interrupt, or trap on behalf of the program?", "Try it: in a SYSCALL_DEFINE handler, print(in_task(), in_atomic())." },
    },
    question{
      id = "irq_flags", points = 2,
      prompt = "Which of these may an interrupt handler pass to kmalloc? Several are right: answer with all their letters as a string, e.g. answers.irq_flags = \"ad\" (letters, not the flags' values).",
      answer = choice{
        "GFP_KERNEL",
        "GFP_ATOMIC",
        "GFP_NOWAIT",
        "GFP_NOIO",
        "GFP_KERNEL | __GFP_HIGH",
      correct = { 2, 3 } },
      feedback = {
        a = "GFP_KERNEL can sleep; an interrupt handler cannot.",
        b = "GFP_ATOMIC is right, and it is not the only one: which other flag never sleeps? (the kernel's memory-allocation guide recommends it for atomic context)",
        c = "GFP_NOWAIT is right, and it is not the only one: which other flag never sleeps, and may use reserves?",
        d = "GFP_NOIO still has __GFP_DIRECT_RECLAIM: it sleeps, it only avoids starting I/O while reclaiming.",
        e = "__GFP_HIGH gives access to reserves, but __GFP_DIRECT_RECLAIM is still set: it can sleep.",
        ab = "GFP_KERNEL can sleep; an interrupt handler cannot.",
        ac = "GFP_KERNEL can sleep; an interrupt handler cannot.",
        abc = "GFP_KERNEL can sleep; an interrupt handler cannot.",
        bcd = "GFP_NOIO still has __GFP_DIRECT_RECLAIM: it sleeps, it only avoids starting I/O while reclaiming.",
        bce = "__GFP_HIGH gives access to reserves, but __GFP_DIRECT_RECLAIM is still set: it can sleep.",
      },
      hints = {
        "An allocation may sleep exactly when __GFP_DIRECT_RECLAIM (0x400) is in its flags.",
        "Print each value in hex: string.format('%x', GFP_NOIO & __GFP_DIRECT_RECLAIM) ... Two of the five have the bit clear.",
      },
    },
    question{
      id = "sleep_bit", points = 1,
      -- The era per learner: 6.x's __GFP_DIRECT_RECLAIM (0x400,
      -- include/linux/gfp_types.h) or 2.6.18's __GFP_WAIT (0x10,
      -- include/linux/gfp.h of 2.6.18), which a boot{era="2.6"} machine has.
      variant = function(rng) return { era = rng:pick({ "6.x", "2.6" }) } end,
      prompt = function(v)
        return "On a " .. v.era .. " kernel (boot{era=\"" .. v.era .. "\"}), which GFP bit decides whether an allocation may sleep? Give its value (a number; 0x... is fine as a string)."
      end,
      answer = function(v) return numeric(v.era == "2.6" and 0x10 or 0x400) end,
      accept = function(v) return { v.era == "2.6" and "__GFP_WAIT" or "__GFP_DIRECT_RECLAIM" } end,
      feedback = function(v)
        if v.era == "2.6" then
          return {
            [0x400] = "0x400 is today's __GFP_DIRECT_RECLAIM; on 2.6.18 that value was __GFP_REPEAT. The bits were renumbered in 4.4, when __GFP_WAIT was split in two.",
            [0x800] = "0x800 was __GFP_NOFAIL on 2.6.18 (today's __GFP_KSWAPD_RECLAIM bit); neither makes the caller wait.",
            [0x20] = "__GFP_HIGH (0x20) is about the reserves, not about sleeping; GFP_ATOMIC is just that bit.",
            [0xd0] = "0xd0 is the whole of GFP_KERNEL on 2.6.18; one bit of it allows sleeping.",
          }
        end
        return {
          [0x800] = "__GFP_KSWAPD_RECLAIM (0x800) only wakes the kswapd thread; the caller does not wait for it. GFP_ATOMIC has it and never sleeps.",
          [0xc00] = "0xc00 is __GFP_RECLAIM, two bits: only one of them makes the caller wait.",
          [0x20] = "__GFP_HIGH (0x20) is about the reserves, not about sleeping.",
          [0xcc0] = "0xcc0 is the whole of GFP_KERNEL; one bit of it allows sleeping.",
          [0x10] = "0x10 was __GFP_WAIT on 2.6 kernels; the question is about 6.x, whose bits were renumbered in 4.4.",
        }
      end,
      hints = function(v)
        if v.era == "2.6" then
          return { "2.6.18 had one bit for it, named after what the caller may do: wait.", "boot{era=\"2.6\"} print(string.format('0x%x', __GFP_WAIT))" }
        end
        return { "The kernel's gfpflags_allow_blocking() tests one bit: its name says the caller reclaims *directly*.", "print(string.format('0x%x', __GFP_DIRECT_RECLAIM))" }
      end,
    },
    question{
      id = "spinlock", points = 1,
      prompt = "Inside a syscall (process context), your code takes spin_lock(&dev->lock) and then calls kmalloc(256, GFP_KERNEL) before spin_unlock. What does a debug kernel do?",
      answer = choice{
        "nothing: a syscall runs in process context, where GFP_KERNEL is the right flag and may sleep",
        "BUG: sleeping function called from invalid context: the spinlock made the context atomic",
        "kmalloc sees that sleeping is not allowed under the lock and returns NULL instead of sleeping",
        "the machine deadlocks at once: the CPU spins forever on the lock that it already holds",
      correct = 2 },
      feedback = {
        a = "The spinlock disabled preemption: between spin_lock and spin_unlock in_atomic() is true, even in a syscall.",
        c = "kmalloc does not look at the context to decide; it trusts its flags. The debug kernel's might-sleep check reports the misuse (and usually the allocation even succeeds, which is why the bug hides).",
        d = "Usually it works -- a free page is at hand and nothing sleeps. That is why the debug kernel checks every call that might sleep.",
      },
      hints = { "What does spin_lock do to the preempt count? Try: local l = spin_lock_init(); spin_lock(l); print(in_atomic()); spin_unlock(l)" },
    },
    task{
      id = "irq_event", points = 3, expects = "record_event", template = "irq",
      prompt = "Write record_event(irq). It is called from an interrupt handler (hardirq context) each time the line fires: allocate a zeroed 32-byte event record, store the line number irq in its first byte, and return the record's address (nil if the allocation fails). The grader raises the line three times.",
      -- A line drawn per case (none the booted machine uses), on both
      -- architectures: the record must hold the line it was called for.
      cases = function(rng)
        local lines = { 3, 4, 5, 6, 7, 10, 11, 12, 13, 15 }
        return {
          { boot = {}, irq = lines[rng:int(1, #lines)] },
          { boot = { arch = "x86_64" }, irq = lines[rng:int(1, #lines)] },
        }
      end,
      setup = function(case) return case.irq end,
      call = function(record_event, irq)
        local out = { n = 0 }
        local ret = request_irq(irq, function(line)
          out.n = out.n + 1
          out[out.n] = record_event(line)
          return IRQ_HANDLED
        end, 0, "lesson5", nil)
        if ret ~= 0 then error("grader: request_irq failed: " .. tostring(ret)) end
        for _ = 1, 3 do raise_irq(irq) end
        free_irq(irq, nil)
        return out
      end,
      check = function(r)
        local out = r.returned
        if type(out) ~= "table" or out.n ~= 3 then return fail("the handler should have run three times.") end
        for i = 1, 3 do
          local rec = bytes_at(out[i], 32)
          if rec == nil then return fail("interrupt " .. i .. ": record_event should return the record's address, got " .. tostring(out[i]) .. ".") end
          if rec:byte(1) ~= r.case.irq then return fail("the record's first byte should be the line number " .. r.case.irq .. ", got " .. rec:byte(1) .. ".") end
          if rec:sub(2) ~= string.rep("\0", 31) then return fail("the rest of the record should be zero: kmalloc does not clear memory; kzalloc (or __GFP_ZERO) does.") end
        end
        if #r.allocated ~= 3 then return fail("three records should be allocated after three interrupts; " .. #r.allocated .. " allocation(s) are.") end
        return pass()
      end,
      hints = {
        "You are in hardirq context: the flags must not allow sleeping.",
        "local p = kzalloc(32, GFP_ATOMIC); if not p then return nil end; poke(p, irq); return p",
      },
    },
    task{
      id = "push_msg", points = 3, expects = "push_msg", template = "q, s",
      prompt = "Write push_msg(q, s), called from a syscall. q is a queue shared with an interrupt handler: q.lock is a spinlock the handler takes too, q.items a list of buffer addresses. Copy the bytes of the string s (no terminating NUL) into a new kmalloc buffer, append its address to q.items while holding q.lock, and return 0 (-ENOMEM if the allocation fails: a message can be larger than kmalloc gives). Allocate with the flags the context allows, and take the lock the way a lock shared with a handler must be taken.",
      allow_reports = { "warning", "allocation-failure" },
      -- Messages of many sizes, one too big for the machine's kmalloc (the
      -- error path); the queue watches every append and records whether
      -- q.lock itself (the one the handler takes) was held, with interrupts
      -- off: any other lock leaves the handler free to read the list.
      cases = function(rng)
        local function msg(n)
          local t = {}
          for i = 1, n do t[i] = string.char(rng:int(97, 122)) end
          return table.concat(t)
        end
        return {
          { label = "a short message", msg = MSG },
          { label = "a message of a few hundred bytes", msg = msg(rng:int(100, 900)) },
          { label = "a 2.6 kernel and a message larger than its 128 KiB kmalloc limit", boot = { era = "2.6" }, msg = msg(rng:int(140000, 200000)), too_big = true },
        }
      end,
      setup = function(case)
        local q = { lock = spin_lock_init("q->lock") }
        local lock = q.lock
        local log = {}
        q.items = setmetatable({}, { __newindex = function(t, k, v)
          local held = string.find(tostring(lock), "held by", 1, true) ~= nil
          log[#log + 1] = { irqs_off = irqs_disabled(), atomic = in_atomic(), held = held }
          rawset(t, k, v)
        end })
        -- The handler has run once already: lockdep knows the lock is taken in hardirq context.
        request_irq(IRQ, function()
          spin_lock(lock)
          local _ = #q.items
          spin_unlock(lock)
          return IRQ_HANDLED
        end, 0, "lesson5-queue", q)
        raise_irq(IRQ)
        return q, case.msg, log
      end,
      call = function(push_msg, q, s)
        local ret
        SYSCALL_DEFINE("lesson5_push", function() ret = push_msg(q, s) return 0 end)
        user.syscall("lesson5_push")
        return ret, rawget(q.items, 1), #q.items
      end,
      check = function(r)
        local log = r.args[3]
        local s = r.case.msg
        local ret, p, n = r.results[1], r.results[2], r.results[3]
        if r.case.too_big then
          if ret ~= -ENOMEM then return fail("kmalloc cannot give " .. #s .. " bytes here, so push_msg should return -ENOMEM (" .. -ENOMEM .. "); it returned " .. tostring(ret) .. ".", { hint = "enomem" }) end
          if n ~= 0 or #log ~= 0 then return fail("nothing should be queued when the allocation fails.") end
          if #r.allocated ~= 0 then return fail("after a failed push nothing of yours should stay allocated; " .. #r.allocated .. " allocation(s) did.") end
          return pass()
        end
        if ret ~= 0 then return fail("push_msg should return 0 on success, got " .. tostring(ret) .. ".") end
        if n ~= 1 then return fail("q.items should hold one address after the call; it holds " .. tostring(n) .. ".") end
        if bytes_at(p, #s) ~= s then return fail("q.items[1] should be the address of a buffer holding the message's bytes.") end
        if #log ~= 1 then return fail("append with q.items[#q.items + 1] = p (or table.insert), so the queue sees it.") end
        if not log[1].held then
          if log[1].atomic then
            return fail("you held a lock while appending, but not q.lock: the interrupt handler takes q.lock, so only q.lock keeps it out of the list.", { hint = "which_lock" })
          end
          return fail("you changed q.items without holding q.lock: the interrupt handler may be reading it at that moment.", { hint = "which_lock" })
        end
        if not log[1].irqs_off then return fail("take q.lock with spin_lock_irqsave: the handler takes it too.", { hint = "irqsave" }) end
        if #r.allocated ~= 1 then return fail("exactly one buffer (the message's) should stay allocated; " .. #r.allocated .. " allocation(s) did.") end
        return pass()
      end,
      hints = {
        "Two rules: nothing that sleeps while the spinlock is held, and a lock shared with an interrupt handler is taken with interrupts disabled.",
        "kmalloc(#s, GFP_KERNEL) and poke first, then local flags = spin_lock_irqsave(q.lock); q.items[#q.items + 1] = p; spin_unlock_irqrestore(q.lock, flags)",
        which_lock = { "A lock protects data only if everyone who touches the data takes the same lock: the handler takes q.lock." },
        irqsave = { "With interrupts on, the handler can interrupt you while you hold q.lock and spin on it forever: spin_lock_irqsave(q.lock)." },
        enomem = { "kmalloc returns nil when it cannot allocate: return -ENOMEM then, before touching the queue." },
      },
      explain = "A spinlock protects data only when every path to the data takes that same lock; the handler takes q.lock, so you must too, with interrupts off so the handler cannot spin on it under you. The allocation happens before the lock, where sleeping is allowed.",
    },
  },
}
