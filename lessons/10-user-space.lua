-- Lesson 10: user space. Vocabulary: lessons/README.md.

local MSG = "kmlab says hello to user space, 64 bytes long, padded out......."
local INPUT = "ifconfig eth0 up"

-- The user program's bytes at addr, or nil.
local function user_bytes(addr, n)
  if math.type(addr) ~= "integer" then return nil end
  local ok, s = pcall(user.peek, addr, n)
  if ok then return s end
  return nil
end

local function kernel_bytes(addr, n)
  if math.type(addr) ~= "integer" or math.type(n) ~= "integer" or n < 0 or n > 65536 then return nil end
  local ok, s = pcall(peek, addr, n)
  if ok then return s end
  return nil
end

return lesson{
  id = "10-user-space",
  title = "User space: lazy memory, page faults, copy_to_user",
  text = [[
# User space

So far all memory was the kernel's. A user program's memory works
differently, and a driver that exchanges data with a program has to cross
the border between the two carefully.

## malloc is virtual, and lazy

When a program calls `malloc(n)` for a large n, the C library asks the
kernel for a new anonymous mapping (`mmap`): the kernel records an area of
virtual addresses in the process's address space -- a line in
`/proc/self/maps` -- and does nothing else. No page frame is allocated,
no page-table entry written. The area is virtually contiguous, like a
vmalloc buffer, and backed by nothing yet.

The first time the program touches a page, the MMU finds no entry and
raises a *page fault*. The kernel's fault handler sees that the address is
inside a valid area, allocates a frame (zeroed: a process must never see
another's old data), maps it, and restarts the instruction. Each page is
backed on first touch, one at a time, wherever a frame is free -- with
`GFP_HIGHUSER_MOVABLE`, so on x86_32 usually in highmem. Memory that is
never touched never costs a frame. (That is also why `malloc` of more
memory than the machine has often "succeeds": overcommit.)

In kmlab the script plays the user program with `user.malloc`,
`user.poke`, `user.peek` and `user.free`:

    local s0 = stats().page_faults
    local u = user.malloc(10 * PAGE_SIZE)
    print(stats().page_faults - s0)      --> 0: nothing is backed
    user.poke(u, "hi")
    print(stats().page_faults - s0)      --> 1
    print(proc("/proc/self/maps"))

(Simplification: glibc serves small requests from its heap, grown with
`brk`, and uses `mmap` only for large ones, 128 KiB and up by default;
`user.malloc` always makes a new mapping of whole pages.)

## The kernel must not trust a user pointer

A syscall receives addresses from the program: `read(fd, buf, count)`.
The driver cannot dereference `buf` like its own memory:

- it may point into the *kernel*: a program asking the kernel to write
  over kernel memory for it. `access_ok(addr, size)` checks that the whole
  range lies below the user/kernel split (TASK_SIZE, 0xc0000000 on x86_32),
  and every `copy_*_user` does that check first;
- it may be unmapped, or not yet backed: the copy can fault, and the fault
  handler may allocate memory and sleep -- so `copy_to_user` and
  `copy_from_user` are for process context only, never under a spinlock
  (lesson 5);
- the program can change it at any moment from another thread: copy once
  into kernel memory, then check the copy, never the original.

The two copy functions return the number of bytes they could **not**
copy: 0 means success. They do not return an errno. The usual pattern:

    SYSCALL_DEFINE("demo_read", function(ubuf, n)
      local len = math.min(n, msg_len)
      if copy_to_user(ubuf, msg, len) ~= 0 then return -EFAULT end
      return len
    end)

Some read() implementations return the bytes that did get copied instead,
when at least one did (the kernel's `simple_read_from_buffer` does);
returning -EFAULT for any shortfall is the common, simple choice.
`copy_from_user` zero-fills the part of the kernel buffer it could not
fill, so a partial copy never leaves stale kernel data in it.

Sizes come from user space too: a program can pass n = 2^30. Check the
size against a limit before you allocate with it, and return -EINVAL (or
-E2BIG, -ENOMEM) instead of asking kmalloc for a gigabyte.

## Exercises

The tasks are syscall handlers; the grader registers them with
SYSCALL_DEFINE and plays the user program.
]],
  exercises = {
    question{
      id = "faults", points = 1,
      explain = "malloc only reserves addresses; each page gets a frame at its first touch, one page fault per page touched.",
      -- Each learner's program maps its own number of pages and writes at its
      -- own offsets: two of the three writes may share a page.
      variant = function(rng)
        local pages = rng:int(8, 20)
        local a = rng:int(2, pages - 2)
        local b = rng:int(0, 1) == 0 and a or rng:int(a + 1, pages - 1)
        local offsets = { rng:int(0, 99), a * 4096 + rng:int(0, 2000), b * 4096 + rng:int(2001, 4095) }
        local distinct = (a == b) and 2 or 3
        return { pages = pages, offsets = offsets, distinct = distinct }
      end,
      prompt = function(v)
        return string.format("A program calls malloc(%d * 4096) (a new mapping) and writes one byte at each of the offsets %d, %d and %d of it. How many page faults did its buffer cause?", v.pages, v.offsets[1], v.offsets[2], v.offsets[3])
      end,
      answer = function(v) return numeric(v.distinct) end,
      feedback = function(v)
        local fb = {
          [0] = "malloc reserved addresses only; the first write to each page faults, and the kernel backs that page.",
          [1] = "Each page is backed separately: a write to another page faults again.",
          [v.pages] = "Only the pages that were touched are backed; the other " .. (v.pages - v.distinct) .. " cost nothing.",
        }
        if v.distinct == 2 then fb[3] = "Two of the writes are in the same page (offset // 4096): that page faults only once." end
        if v.distinct == 3 then fb[2] = "Work out the page of each offset (offset // 4096): all three differ." end
        return fb
      end,
      hints = function(v)
        return { "One fault per page touched for the first time; the page of an offset is offset // 4096.",
                 string.format("Try it: s0 = stats().page_faults; u = user.malloc(%d * PAGE_SIZE); user.poke(u + %d, 1); user.poke(u + %d, 1); user.poke(u + %d, 1); print(stats().page_faults - s0)", v.pages, v.offsets[1], v.offsets[2], v.offsets[3]) }
      end,
    },
    question{
      id = "frames", points = 1,
      explain = "User pages are backed one page fault at a time, each from wherever a free frame is: virtually contiguous, physically scattered.",
      prompt = "Are the frames behind a 64 KiB user buffer, once every page was touched, physically contiguous?",
      answer = choice{
        "yes: at the first fault the kernel backs the whole malloc'ed range with one contiguous block",
        "not in general: each page got its own frame at its first fault, wherever one was free",
        "yes, because user pages come from the direct map, which maps physical memory in one run",
        "there are no frames yet: touched user pages live in swap until the program frees them",
      correct = 2 },
      feedback = {
        a = "Virtually contiguous, like vmalloc; the frames come one page fault at a time.",
        c = "User pages are allocated with GFP_HIGHUSER_MOVABLE, on x86_32 mostly from highmem, one at a time: not the direct map.",
        d = "Touched pages are in RAM (until the kernel swaps them out under pressure).",
      },
      hints = { "When, and one how many pages at a time, does a user page get its frame?" },
    },
    question{
      id = "returns", points = 1,
      explain = "copy_to_user() returns the number of bytes it could not copy; anything but 0 means the user buffer was bad, which a syscall reports as -EFAULT.",
      prompt = "copy_to_user(ubuf, kbuf, 100) returns 40. What does that mean?",
      answer = choice{
        "40 bytes could not be copied (the last 40): the syscall should usually return -EFAULT",
        "40 bytes were copied (the first 40): the syscall should return 40, the bytes that arrived",
        "an error: the copy failed with errno 40, and the syscall should return -40 to user space",
        "success: copy_to_user returns a count when every byte arrived, a negative errno on failure",
      correct = 1 },
      feedback = {
        b = "It is the other way round: copy_to_user returns the number of bytes NOT copied.",
        c = "It returns a count, not an errno; the driver decides what to return (-EFAULT).",
        d = "Only 0 is complete success.",
      },
      hints = { "What does copy_to_user return when everything went well?" },
    },
    question{
      id = "kernel_ptr", points = 1,
      explain = "access_ok() checks that the whole range lies below the user/kernel split before any byte is copied, so a kernel address copies nothing.",
      prompt = "A program passes the kernel address 0xc1a00000 as the buffer of your read() syscall, and your driver calls copy_to_user on it. What happens?",
      answer = choice{
        "the data is written to kernel memory at 0xc1a00000, over whatever the kernel kept there",
        "access_ok refuses the range: nothing is copied, and copy_to_user returns the whole count",
        "the kernel Oopses: a kernel address in a user copy is a fault the exception table cannot fix",
        "the data goes to the user program's own page at 0xc1a00000, which is mapped on demand",
      correct = 2 },
      feedback = {
        a = "That is the hole access_ok closes: the copy functions check that the whole range is below the user/kernel split first.",
        c = "No Oops: the range check fails before any access, and the function reports the bytes it did not copy.",
        d = "On x86_32 everything at or above 0xc0000000 is the kernel's; the program has no pages there.",
      },
      hints = { "Try access_ok(0xc1a00000, 100) -- and what copy_to_user returns for it." },
    },
    task{
      id = "msg_read", points = 3, expects = "msg_read", template = "msg, ubuf, n",
      explain = "Copy no more than both sides hold (min(n, len)) and treat a non-zero return of copy_to_user() as -EFAULT: user pointers are never trusted.",
      prompt = "Write msg_read(msg, ubuf, n), the body of a read() syscall: msg.addr and msg.len describe a kernel buffer; copy min(n, msg.len) bytes of it to the user buffer ubuf and return how many you copied, or -EFAULT if the copy fails. The grader calls it from many syscalls on several machines (both architectures), with messages of several lengths: user buffers at various places with various n (0 included), kernel addresses, NULL, unmapped addresses and ranges that cross into the kernel as ubuf, and user buffers that end before the data does (then it may return -EFAULT, or the number of bytes that did get copied).",
      -- A machine per case (both architectures, both eras, an aged one),
      -- each with its own message length and content, user mapping and
      -- calls drawn per learner: good buffers anywhere in the mapping with
      -- n below, at and above msg.len (and 0), buffers the program cannot
      -- have (kernel addresses, NULL, a range crossing TASK_SIZE, a mapping
      -- it has unmapped) and buffers that end early (room bytes before the
      -- end of the mapping). The grader reads what arrived in user memory
      -- and that nothing past it changed.
      cases = function(rng)
        local machines = { { arch = "x86_32" }, { arch = "x86_64" }, { arch = "x86_32", era = "2.6" },
                           { arch = "x86_64", fragmented = true, seed = rng:int(1, 1 << 30) } }
        local list = {}
        for i, m in ipairs(machines) do
          local len = rng:pick({ rng:int(2, 63), rng:int(64, 700), rng:int(701, 3000) })
          local pages = rng:int(2, 4)
          local span = pages * PAGE_SIZE
          local function anywhere(n) return { kind = "user", off = rng:int(0, span - n), n = n } end
          local calls = {
            anywhere(math.min(len + rng:int(1, 300), span)), anywhere(rng:int(1, len - 1)), anywhere(len),
            anywhere(0), anywhere(rng:int(1, len)),
            { kind = "msg", n = rng:int(1, len) },
            { kind = "kernel", page = rng:int(1, 2000), n = rng:int(1, len) },
            { kind = "null", n = rng:int(1, len) },
            { kind = "split", back = rng:int(1, len - 1), n = len },
            { kind = "unmapped", n = rng:int(1, len) },
            { kind = "room", room = rng:int(1, len - 1), n = len + rng:int(0, 50) },
          }
          rng:shuffle(calls)
          local label = "msg_read on " .. (m.fragmented and "an aged " or "a fresh ") .. (m.era or "6.x") .. " " .. m.arch .. " machine, msg.len = " .. len
          list[i] = { boot = m, len = len, span = span, calls = calls, salt = rng:int(0, 25), label = label }
        end
        return list
      end,
      setup = function(case)
        local text = {}
        for i = 1, case.len do text[i] = string.char(97 + (case.salt + i * 7) % 26) end
        local message = table.concat(text)
        local k = kmalloc(case.len, GFP_KERNEL)
        poke(k, message)
        local area = user.malloc(case.span)
        -- A mapping the program has given back: its addresses fault.
        local gone = user.malloc(PAGE_SIZE)
        user.free(gone)
        return { addr = k, len = case.len }, area, gone, message, case.calls, case.span
      end,
      -- Each call: where ubuf points, n, and what the user buffer held right
      -- after (the grader fills the mapping first, reads each call's bytes
      -- and the byte after them before the next call).
      call = function(msg_read, msg, area, gone, message, calls, span)
        SYSCALL_DEFINE("msg_read", function(ubuf, n) return msg_read(msg, ubuf, n) end)
        local seen = {}
        for i, c in ipairs(calls) do
          local ubuf, what = 0, ""
          if c.kind == "user" then ubuf, what = area + c.off, "a user buffer"
          elseif c.kind == "msg" then ubuf, what = msg.addr, "the kernel's own buffer as ubuf"
          elseif c.kind == "kernel" then ubuf, what = PAGE_OFFSET + c.page * PAGE_SIZE, "a kernel address as ubuf"
          elseif c.kind == "null" then ubuf, what = 0, "NULL as ubuf"
          elseif c.kind == "split" then ubuf, what = (PAGE_OFFSET == 0xc0000000 and 0xc0000000 or (1 << 47) - PAGE_SIZE) - c.back, "a range that crosses into the kernel's addresses"
          elseif c.kind == "unmapped" then ubuf, what = gone, "an address the program has unmapped"
          elseif c.kind == "room" then ubuf, what = area + span - c.room, "a user buffer with room for " .. c.room .. " bytes"
          end
          local user_side = c.kind == "user" or c.kind == "room"
          local want = math.min(c.n, #message)
          local reach = user_side and math.min(c.room or want + 1, span - (ubuf - area)) or 0
          if user_side and reach > 0 then user.poke(ubuf, string.rep("#", reach)) end
          local ret = user.syscall("msg_read", ubuf, c.n)
          seen[i] = { ubuf = ubuf, n = c.n, what = what, fault = not user_side, room = c.room, ret = ret, want = want,
                      bytes = user_side and user_bytes(ubuf, reach) or nil, reach = reach }
        end
        return seen
      end,
      check = function(r)
        local seen = r.returned
        local message = r.args[4]
        if type(seen) ~= "table" or #seen == 0 or type(message) ~= "string" then return fail("the grader could not run your function") end
        for _, c in ipairs(seen) do
          local call = string.format("read(ubuf = 0x%x, n = %d) (%s)", c.ubuf, c.n, c.what)
          local want = c.want
          if c.fault then
            if c.ret ~= -EFAULT then
              if c.ret == 0 then return fail(call .. ": copy_to_user copies nothing and returns the count of bytes not copied, not an error; return -EFAULT, not 0.") end
              return fail(call .. " must give -EFAULT, got " .. tostring(c.ret) .. ".")
            end
          elseif c.room then
            if c.ret ~= -EFAULT and c.ret ~= c.room then
              return fail(call .. ": return -EFAULT (or " .. c.room .. ", the bytes copied), got " .. tostring(c.ret) .. ".")
            end
            if c.bytes ~= message:sub(1, c.room) then return fail(call .. ": the end of the user buffer should hold the start of the message.") end
          else
            if c.ret ~= want then
              return fail(call .. ": copy min(n, msg.len) = " .. want .. " bytes and return " .. want .. ", got " .. tostring(c.ret) .. ".")
            end
            if type(c.bytes) ~= "string" or c.bytes:sub(1, want) ~= message:sub(1, want) then return fail(call .. ": the user buffer does not hold the first " .. want .. " bytes of the message.") end
            if c.bytes:sub(want + 1) ~= string.rep("#", c.reach - want) then return fail(call .. ": bytes past the " .. want .. " copied changed in the user buffer: copy exactly min(n, msg.len) bytes.") end
          end
        end
        if #r.allocated ~= 0 then return fail("msg_read should not allocate anything that stays allocated; " .. #r.allocated .. " allocation(s) did.") end
        if #r.freed_foreign ~= 0 then return fail("msg_read freed memory it does not own (" .. #r.freed_foreign .. " allocation(s) of the caller's): the message stays the caller's.") end
        return pass()
      end,
      hints = {
        "copy_to_user returns the bytes NOT copied.",
        "local len = math.min(n, msg.len); if copy_to_user(ubuf, msg.addr, len) ~= 0 then return -EFAULT end; return len",
      },
    },
    task{
      id = "msg_write", points = 3, expects = "msg_write", template = "box, ubuf, n",
      explain = "Sizes from user space are checked before they reach the allocator, and every failure path frees what it allocated before returning its errno.",
      prompt = "Write msg_write(box, ubuf, n), the body of a write() syscall: copy n bytes from the user buffer ubuf into a new kernel buffer, store its address and length in box.addr and box.len, and return n. Return -EINVAL if n is 0 or more than 4096 (never allocate what user space asks for unchecked), -ENOMEM if the allocation fails, -EFAULT if the copy fails (and then free your buffer and leave box alone). The grader writes commands of several sizes (up to 4096) on several machines, then tries sizes out of range, kernel addresses, unmapped addresses and user buffers shorter than n.",
      -- A machine per case, with sizes, offsets, text and bad buffers drawn
      -- per learner; the grader counts the buffers left allocated per
      -- allocation (one per successful write, no more) and compares each
      -- box with the bytes in user memory.
      cases = function(rng)
        local machines = { { arch = "x86_32" }, { arch = "x86_64" }, { arch = "x86_32", era = "2.6" },
                           { arch = "x86_32", fragmented = true, seed = rng:int(1, 1 << 30) } }
        local list = {}
        for i, m in ipairs(machines) do
          local span = 2 * PAGE_SIZE
          local function good(n) return { kind = "user", off = rng:int(0, span - n), n = n, ok = true } end
          local calls = {
            good(rng:int(1, 16)), good(rng:int(17, 512)), good(rng:int(513, 4095)), good(4096), good(1),
            { kind = "user", off = rng:int(0, 100), n = 0, err = "EINVAL" },
            { kind = "user", off = 0, n = 4097, err = "EINVAL" },
            { kind = "user", off = 0, n = rng:int(4098, 1 << 30), err = "EINVAL" },
            { kind = "kernel", n = rng:int(1, 4096), err = "EFAULT" },
            { kind = "unmapped", n = rng:int(1, 4096), err = "EFAULT" },
            { kind = "short", room = rng:int(1, 400), n = rng:int(401, 4096), err = "EFAULT" },
          }
          rng:shuffle(calls)
          local label = "msg_write on " .. (m.fragmented and "an aged " or "a fresh ") .. (m.era or "6.x") .. " " .. m.arch .. " machine"
          list[i] = { boot = m, span = span, calls = calls, salt = rng:int(0, 25), label = label }
        end
        return list
      end,
      setup = function(case)
        local u = user.malloc(case.span)
        local text = {}
        for i = 1, case.span // #INPUT do text[i] = INPUT .. string.char(97 + (case.salt + i) % 26) end
        user.poke(u, table.concat(text):sub(1, case.span))
        local gone = user.malloc(PAGE_SIZE)
        user.free(gone)
        local k = kmalloc(64, GFP_KERNEL)
        return u, k, gone, case.calls, case.span
      end,
      call = function(msg_write, u, k, gone, calls, span)
        local boxes, i = {}, nil
        SYSCALL_DEFINE("msg_write", function(ubuf, n) return msg_write(boxes[i], ubuf, n) end)
        local seen = {}
        for j, c in ipairs(calls) do
          i = j
          boxes[j] = {}
          local ubuf = u + (c.off or 0)
          if c.kind == "kernel" then ubuf = k
          elseif c.kind == "unmapped" then ubuf = gone
          elseif c.kind == "short" then ubuf = u + span - c.room end
          local ret = user.syscall("msg_write", ubuf, c.n)
          seen[j] = { ubuf = ubuf, n = c.n, ok = c.ok, err = c.err and (c.err == "EINVAL" and -EINVAL or -EFAULT), ret = ret,
                      want = c.ok and user_bytes(ubuf, c.n) or nil }
        end
        return seen, boxes
      end,
      check = function(r)
        local seen, boxes = r.results[1], r.results[2]
        if type(seen) ~= "table" or type(boxes) ~= "table" then return fail("the grader could not run your function") end
        local kept = 0
        for j, c in ipairs(seen) do
          local call = string.format("write(ubuf = 0x%x, n = %d)", c.ubuf, c.n)
          local b = boxes[j]
          if c.ok then
            if c.ret ~= c.n then return fail(call .. " should return " .. c.n .. ", got " .. tostring(c.ret) .. ".") end
            if type(b) ~= "table" or b.len ~= c.n or kernel_bytes(b.addr, c.n) ~= c.want then
              return fail(call .. ": box.addr should point to a kernel copy of the " .. c.n .. " bytes and box.len be " .. c.n .. ".")
            end
            kept = kept + 1
          else
            if c.ret ~= c.err then
              if c.err == -EINVAL then return fail(call .. " must be refused with -EINVAL before any allocation; got " .. tostring(c.ret) .. ".") end
              return fail(call .. ": copy_from_user cannot copy all of it; return -EFAULT, got " .. tostring(c.ret) .. ".")
            end
            if type(b) == "table" and b.addr ~= nil then return fail(call .. " failed: leave box alone (box.addr is set).") end
          end
        end
        -- Counted per allocation: a buffer leaked on a failure path is not
        -- hidden by freeing an object of the caller's (which is a finding of its own).
        if #r.freed_foreign ~= 0 then
          local f = r.freed_foreign[1]
          return fail(string.format("msg_write freed memory it does not own: the caller's %d-byte %s object at 0x%x (a failed write must leave the caller's memory alone).", f.size or 0, tostring(f.kind), f.address or 0), { hint = "leak" })
        end
        if #r.allocated ~= kept then
          return fail("only the buffers of the " .. kept .. " successful writes should stay allocated; " .. #r.allocated .. " allocation(s) did: free your buffer when the copy fails.", { hint = "leak" })
        end
        return pass()
      end,
      hints = {
        "Check n first. Then kmalloc(n, GFP_KERNEL); copy_from_user returns the bytes NOT copied.",
        "if copy_from_user(p, ubuf, n) ~= 0 then kfree(p) return -EFAULT end; box.addr, box.len = p, n; return n",
        leak = {
          "Every path out of msg_write after the kmalloc either stores the buffer in box or frees it: the -EFAULT path too.",
          "if copy_from_user(p, ubuf, n) ~= 0 then kfree(p) return -EFAULT end",
        },
      },
    },
  },
}
