-- Lesson 10: user space memory and copying across the boundary.
-- Vocabulary: lessons/README.md.

local MESSAGE = "hello from the kernel\n"

return lesson{
  id = "10-user-space",
  title = "User space: lazy memory, page faults, copy_to_user",
  text = [[
# User space

A user program's memory is virtual too, but it is built differently from
the kernel's.

## malloc is lazy

`malloc` (or the `mmap` underneath it) only reserves a range of virtual
addresses: a new line in /proc/self/maps. No page frame is allocated and no
page-table entry written. The first time the program touches a page, the
MMU finds no translation and raises a page fault; the kernel's fault
handler (handle_mm_fault) allocates a zeroed frame, maps it, and restarts
the instruction. Memory that is never touched never costs a frame. That is
why a process's virtual size (VSZ) can be far larger than what it really
uses (RSS), and why the kernel can overcommit.

In kmlab, the simulated user program is `a.out`:

    local s0 = stats()
    local u = user.malloc(64 * 1024)           -- 16 pages reserved, 0 backed
    print(stats().page_faults - s0.page_faults) --> 0
    user.poke(u, "hi")                          -- first touch of page 0
    user.poke(u + 8192, "x")                    -- first touch of page 2
    print(stats().page_faults - s0.page_faults) --> 2
    cat("/proc/self/maps")

Consecutive user pages are virtually contiguous; the frames behind them come
from wherever the page allocator found them, like vmalloc's (lesson 3).
kmlab simplifies: no swap, no copy-on-write, no huge pages for user memory.

## Crossing the boundary

Kernel code never dereferences a user pointer directly. The pointer comes
from an untrusted program: it may point into the kernel (an attack), at
nothing (a bug), or at memory that is not backed yet (a page fault that
must be allowed to sleep while the page is brought in). So the kernel
copies:

    unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
    unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);

Both check the range with `access_ok()` (is it below the user/kernel
split?), handle faults, and **return the number of bytes that could NOT be
copied**: 0 on success. The caller turns a non-zero result into `-EFAULT`.
Both may sleep, so they belong in process context -- a syscall, where
`current` is the program that passed the pointer. A syscall returns a
non-negative result or a negative errno (`-EFAULT`, `-ENOMEM`, `-EINVAL`).

    SYSCALL_DEFINE("hello", function(ubuf, len)
      if copy_to_user(ubuf, kbuf, len) ~= 0 then return -EFAULT end
      return len
    end)
    print(user.syscall("hello", u, 5))

Returning a kernel address to user space, or copying more than the user's
buffer holds, are classic bugs: the first leaks kernel layout, the second
corrupts the program's memory.

## Exercises

Start with `kmlab lesson 10 --template > a10.lua`.
]],
  exercises = {
    question{
      id = "lazy", points = 1,
      prompt = "A program calls malloc(1 MiB) and then writes one byte at the start of each of the first 3 pages. How many page frames does the buffer use now?",
      answer = numeric(3),
      feedback = {
        [256] = "malloc only reserves addresses; frames are allocated on first touch, page by page.",
        [0] = "Writing a byte touches the page: the page fault allocates a frame for it.",
        [1] = "Each page is faulted in separately: three pages touched, three frames.",
      },
      hints = { "Frames are allocated by the page-fault handler, one per page touched.", "Try it with user.malloc, user.poke and stats().page_faults." },
    },
    question{
      id = "returns", points = 2,
      prompt = "What does copy_to_user() return?",
      answer = choice{
        "the number of bytes copied",
        "the number of bytes that could not be copied (0 on success)",
        "0 on success or -EFAULT",
        "nothing: it oopses on a bad pointer",
      correct = 2 },
      feedback = {
        a = "It is the other way round: the bytes left over, so 0 means everything was copied.",
        c = "-EFAULT is what the syscall returns to user space; copy_to_user itself returns the count of bytes not copied.",
        d = "It handles faults on user addresses and reports them in its return value.",
      },
      hints = { "Check the man page of the kernel API, or try it on address 0 from a syscall." },
    },
    question{
      id = "why_copy", points = 1,
      prompt = "Why may a syscall handler not simply peek()/memcpy() from the user's pointer?",
      answer = choice{
        "user memory is in highmem",
        "the pointer is untrusted: it may point into the kernel or at nothing, and the page may not be backed yet; copy_from_user checks the range and handles the fault",
        "user space uses different page sizes",
        "it may, if the program is trusted",
      correct = 2 },
      feedback = {
        a = "Where the frames sit has nothing to do with it (on 64-bit there is no highmem at all).",
        d = "The kernel trusts no user pointer: any program can pass any number, including a kernel address.",
      },
      hints = { "Who chose the value of that pointer?" },
    },
    task{
      id = "read", points = 4, expects = "device_read", template = "kbuf, klen, ubuf, ulen",
      context = "syscall",
      prompt = "Write device_read(kbuf, klen, ubuf, ulen), the read() of a device whose message is at kernel address kbuf (klen bytes): copy min(klen, ulen) bytes to the user's buffer ubuf and return how many; return -EFAULT if the copy fails. It runs as a syscall, with a 64-byte user buffer, a 5-byte one, and a bad pointer.",
      setup = function()
        local kbuf = kmalloc(64, GFP_KERNEL)
        poke(kbuf, MESSAGE)
        local ubuf = user.malloc(PAGE_SIZE)
        return kbuf, #MESSAGE, ubuf, 64
      end,
      call = function(f, kbuf, klen, ubuf, ulen)
        local whole = f(kbuf, klen, ubuf, ulen)
        local short = f(kbuf, klen, ubuf + 100, 5)
        local bad = f(kbuf, klen, PAGE_OFFSET + 0x1000, ulen)
        return whole, short, bad
      end,
      check = function(r)
        local ubuf = r.args[3]
        local whole, short, bad = r.results[1], r.results[2], r.results[3]
        if whole ~= #MESSAGE then return fail("with a 64-byte buffer the whole " .. #MESSAGE .. "-byte message fits: return " .. #MESSAGE .. "; you returned " .. tostring(whole) .. ".") end
        if user.peek(ubuf, #MESSAGE) ~= MESSAGE then return fail("the user's buffer does not hold the message.") end
        if user.peek(ubuf + #MESSAGE, 1) ~= "\0" then return fail("you wrote past the message into the user's buffer.") end
        if short ~= 5 then return fail("with a 5-byte buffer copy 5 bytes and return 5; you returned " .. tostring(short) .. ".") end
        if user.peek(ubuf + 100, 6) ~= MESSAGE:sub(1, 5) .. "\0" then return fail("with a 5-byte buffer, exactly 5 bytes must be copied: copying more overwrites the program's memory.") end
        if bad ~= -EFAULT then return fail("a kernel address passed as the user buffer must fail with -EFAULT (copy_to_user returns the bytes not copied); you returned " .. tostring(bad) .. ".") end
        return pass()
      end,
      hints = {
        "n = math.min(klen, ulen); copy_to_user returns the number of bytes NOT copied.",
        "if copy_to_user(ubuf, kbuf, n) ~= 0 then return -EFAULT end; return n",
      },
    },
    task{
      id = "faults", points = 2, expects = "faults_touching", template = "ubuf, pages",
      prompt = "Write faults_touching(ubuf, pages): write one byte (user.poke) to each of the pages pages of a freshly malloc'ed user buffer and return how many page faults that caused (stats().page_faults). Called with a 10-page buffer.",
      setup = function() return user.malloc(10 * PAGE_SIZE), 10 end,
      check = function(r)
        if r.returned ~= 10 then
          return fail("10 untouched pages fault once each when first written: 10 faults; you returned " .. tostring(r.returned) .. ".")
        end
        return pass()
      end,
      hints = { "local before = stats().page_faults ... return stats().page_faults - before", "for i = 0, pages - 1 do user.poke(ubuf + i * PAGE_SIZE, \"x\") end" },
    },
  },
}
