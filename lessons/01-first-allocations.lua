-- Lesson 1: first allocations. Vocabulary: lessons/README.md.

-- What the setup leaves behind for the stale-data task: a freed 64-byte
-- object that still holds someone else's secret.
local SECRET = "root:$6$Kq8sP2x1$hunter2hunter2"

local function bytes_at(addr, n)
  if math.type(addr) ~= "integer" then return nil end
  local ok, s = pcall(peek, addr, n)
  if ok then return s end
  return nil
end

return lesson{
  id = "01-first-allocations",
  title = "First allocations: kmalloc, kzalloc, kfree",
  text = [[
# First allocations

Kernel code cannot call malloc(). It asks the kernel's own allocators, and
the one you will use most is `kmalloc`:

    void *kmalloc(size_t size, gfp_t flags);
    void kfree(const void *objp);

`size` is in bytes; `flags` (the "GFP" flags, for Get Free Pages) say how
hard the allocator may try and what it may do while trying. In process
context -- a system call, a module's init function -- you pass `GFP_KERNEL`,
which allows the allocator to sleep while it reclaims memory. Lesson 5 is
about the contexts where that is not allowed.

In kmlab the same calls are Lua functions, and addresses are Lua integers:

    local p = kmalloc(100, GFP_KERNEL)
    print(string.format("%x", p))   --> c1a00000 (a kernel virtual address)
    kfree(p)

## kmalloc can fail: check for NULL

`kmalloc` returns NULL when it cannot allocate (in kmlab: `nil`). It does
not raise, it does not return an error code: every caller checks.

    p = kmalloc(len, GFP_KERNEL);
    if (!p)
            return -ENOMEM;

Using the NULL pointer anyway is a `BUG: kernel NULL pointer dereference`
Oops, which kills the task. In kmlab `nil` is NULL wherever the kernel would
dereference the pointer: `memset(nil, 0, 16)` or `poke(nil, "x")` gives you
that Oops, exactly as the C code would.

## Size classes and ksize()

Small allocations come from the slab allocator (SLUB), which keeps caches of
fixed-size objects: kmalloc-8, -16, -32, -64, -96, -128, -192, -256, -512,
-1k, -2k, -4k and -8k (`cat("/proc/slabinfo")` lists them). A request is
rounded up to the next size class: `kmalloc(100, GFP_KERNEL)` takes an object
from kmalloc-128. `ksize(p)` tells you the usable size of what you got.
Requests above KMALLOC_MAX_CACHE_SIZE (8 KiB) skip the caches and take whole
pages from the page allocator (lesson 2).

Never rely on the slack: the object is yours up to the size you asked for,
and debugging tools (KASAN) report accesses past it.

## Fresh memory is not clean

`kmalloc` hands back an object as it is. Freed objects are reused, last
freed first, and apart from the allocator's free-list pointer the bytes of
the previous owner are still there. That is fast -- and a classic security
bug: copy such a buffer to user space and you leak kernel data (passwords,
keys, pointers that defeat KASLR). Try it:

    local a = kmalloc(64, GFP_KERNEL); poke(a, "my secret"); kfree(a)
    local b = kmalloc(64, GFP_KERNEL)
    print(a == b, peek(b, 9))     --> true   my secret

When the memory will be seen by anyone else, or when your code expects
zeroes, ask for zeroed memory: `kzalloc(size, flags)` is
`kmalloc(size, flags | __GFP_ZERO)`. kmlab's boot fills memory with
deterministic garbage, so forgetting shows up every time.

## Every kmalloc has one kfree

An object you forget to free is a leak: the kernel has no garbage
collector. Freeing twice, or freeing a pointer kmalloc never returned, is
reported by the debug kernel (KASAN `double-free`, `invalid-free`).
`kfree(nil)` is allowed and does nothing, exactly as `kfree(NULL)`.

## Exercises

Write your answers in a file (`kmlab lesson 1 --template > a1.lua` starts
one) and check it with `kmlab check 1 a1.lua`.
]],
  exercises = {
    question{
      id = "q1", points = 2,
      prompt = "What does ksize() return for the object kmalloc(100, GFP_KERNEL) gives you? (a number of bytes)",
      answer = numeric(128, { units = true }),
      feedback = {
        [100] = "ksize() is not the size you asked for: it is the usable size of the object, and kmalloc rounds 100 up to its size class.",
        [96] = "kmalloc-96 objects are too small for 100 bytes: the next size class up is the one.",
        [104] = "kmalloc does not add a header: it rounds up to a size class (8, 16, 32, 64, 96, 128, 192, 256, ...).",
        [4096] = "100 bytes do not take a whole page: they come from a slab cache of small objects.",
      },
      hints = {
        "The slab caches are kmalloc-8, -16, -32, -64, -96, -128, -192, -256, ... Which is the smallest that holds 100 bytes?",
        "Try it: print(ksize(kmalloc(100, GFP_KERNEL)))",
      },
    },
    question{
      id = "q2", points = 1,
      prompt = "What does kmalloc return when it cannot allocate the memory?",
      answer = choice{
        "a negative errno such as -ENOMEM",
        "NULL (nil in kmlab)",
        "nothing: with GFP_KERNEL it waits until memory is free, so it never fails",
        "it raises an exception that the caller catches",
      correct = 2 },
      feedback = {
        a = "Functions that return an int report -ENOMEM; kmalloc returns a pointer, and a failed allocation is NULL. The caller turns that into -ENOMEM.",
        c = "GFP_KERNEL may sleep and retry, but it can still fail (and always fails for sizes that are too large). Check for NULL.",
        d = "C has no exceptions: kmalloc returns NULL.",
      },
      hints = { "C has no exceptions, and kmalloc returns a pointer.", "Try kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL) and print what you get." },
    },
    task{
      id = "size_class", points = 2, expects = "size_class", template = "n",
      prompt = "Write size_class(n): return the number of bytes kmalloc really gives you for an n-byte request (n is between 1 and 8192). Free whatever you allocate.",
      setup = function() return 200 end,
      check = function(r)
        if r.returned ~= 256 then
          if r.returned == 200 then return fail("size_class(200) returned 200, the size you asked for; ksize() tells you what you got.") end
          return fail("size_class(200) should be 256 (kmalloc-256), got " .. tostring(r.returned) .. ".")
        end
        if r.leaked > 0 then
          return fail("the answer is right, but your function left " .. r.leaked .. " allocation(s) behind: every kmalloc needs its kfree.")
        end
        return pass()
      end,
      hints = { "Allocate n bytes, ask ksize() about the pointer, free it, return the size.", "local p = kmalloc(n, GFP_KERNEL) ... kfree(p) ... return size" },
    },
    task{
      id = "kstrdup", points = 2, expects = "kstrdup", template = "s",
      prompt = "Write kstrdup(s): copy the Lua string s, plus a terminating NUL byte, into memory from kmalloc and return its address; return nil if the allocation fails (the caller frees the copy).",
      setup = function() return "hello, kernel" end,
      check = function(r)
        local s = "hello, kernel"
        local got = bytes_at(r.returned, #s + 1)
        if got == nil then return fail("kstrdup(\"hello, kernel\") should return the address of the copy, got " .. tostring(r.returned) .. ".") end
        if got:sub(1, #s) ~= s then return fail("the copy does not hold the string: " .. string.format("%q", got)) end
        if got:byte(#s + 1) ~= 0 then return fail("the copy has no terminating NUL byte: a C string needs #s + 1 bytes, the last one 0.") end
        if r.leaked ~= 1 then return fail("kstrdup should leave exactly one allocation (the copy); it left " .. r.leaked .. ".") end
        return pass()
      end,
      hints = { "kmalloc(#s + 1, GFP_KERNEL), then poke(p, s .. \"\\0\").", "Check the pointer before you use it: if not p then return nil end" },
    },
    task{
      id = "null_check", points = 2, expects = "alloc_array", template = "n, size",
      prompt = "Write alloc_array(n, size): allocate a zeroed array of n elements of size bytes each, store n in its first 4 bytes as a header (poke(p, string.pack(\"<I4\", n))), and return its address -- or nil when the allocation fails. It is called with (16, 64), then with (65536, 1024): 64 MiB, more than kmalloc can ever give.",
      allow_reports = { "warning", "allocation-failure" },
      setup = function() return 16, 64 end,
      call = function(alloc_array, n, size)
        local small = alloc_array(n, size)
        return small, alloc_array(65536, 1024)
      end,
      check = function(r)
        local small, big = r.results[1], r.results[2]
        local got = bytes_at(small, 16 * 64)
        if got == nil then return fail("alloc_array(16, 64) should return the array's address, got " .. tostring(small) .. ".") end
        if got:sub(1, 4) ~= string.pack("<I4", 16) then return fail("the first 4 bytes should hold n = 16 (string.pack(\"<I4\", n)).") end
        if got:sub(5) ~= string.rep("\0", 16 * 64 - 4) then return fail("the rest of the array should be zero: kmalloc does not clear memory.") end
        if big ~= nil then return fail("64 MiB is more than KMALLOC_MAX_SIZE (4 MiB), so alloc_array(65536, 1024) must return nil; got " .. tostring(big) .. ".") end
        if r.leaked ~= 1 then return fail("after the failed call only the first array should be allocated; " .. r.leaked .. " allocation(s) are.") end
        return pass()
      end,
      hints = { "kzalloc (or kcalloc) returned nil for the big one: what does your function do next?", "if not p then return nil end -- before any poke" },
    },
    task{
      id = "no_leak", points = 3, expects = "make_reply", template = "",
      prompt = "Write make_reply(): allocate a 64-byte reply buffer that will be copied to user space, put the 5 bytes \"hello\" at its start, and return its address. The other 59 bytes must be zero: nothing of the buffer's previous owner may leak.",
      setup = function()
        local old = kmalloc(64, GFP_KERNEL)
        poke(old, SECRET)
        kfree(old)
      end,
      check = function(r)
        local got = bytes_at(r.returned, 64)
        if got == nil then return fail("make_reply() should return the buffer's address, got " .. tostring(r.returned) .. ".") end
        if got:sub(1, 5) ~= "hello" then return fail("the buffer should start with \"hello\".") end
        if got:sub(6) ~= string.rep("\0", 59) then
          if got:find("hunter2", 1, true) then
            return fail("your buffer leaks the previous owner's data (a password hash is still in it): kmalloc does not clear memory; use kzalloc.")
          end
          return fail("bytes 6..64 are not all zero: kmalloc does not clear memory; use kzalloc.")
        end
        return pass()
      end,
      hints = { "What is in a 64-byte object that someone else just freed?", "kzalloc(64, GFP_KERNEL) returns zeroed memory." },
    },
  },
}
