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
Oops, which kills the task (2.6.18 on i386, kmlab's `boot{era="2.6"}`,
worded it `BUG: unable to handle kernel NULL pointer dereference at virtual
address 00000000`). In kmlab `nil` is NULL wherever the kernel would
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
      -- A size whose class is not a power of two, so that "round up to a
      -- power of two" gives a different (wrong) answer; the question asks
      -- for the slack, so the answer depends on the size itself (about a
      -- hundred sizes, answers spread over 1..63): a neighbour's answer or
      -- a guess is right about one time in fifty.
      variant = function(rng)
        local lo, hi, class, pow2 = 65, 95, 96, 128
        if rng:int(2) == 2 then lo, hi, class, pow2 = 129, 191, 192, 256 end
        local n = rng:int(lo, hi)
        return { n = n, class = class, pow2 = pow2, slack = class - n }
      end,
      prompt = function(v)
        return "On a 6.x kernel, p = kmalloc(" .. v.n .. ", GFP_KERNEL). How many bytes does the object have beyond the " .. v.n .. " you asked for, that is ksize(p) - " .. v.n .. "? (a number of bytes)"
      end,
      answer = function(v) return numeric(v.slack, { units = true }) end,
      feedback = function(v)
        return {
          [0] = "ksize() is not the size you asked for: it is the usable size of the object, and kmalloc rounds " .. v.n .. " up to its size class.",
          [v.pow2 - v.n] = "kmalloc does not round up to a power of two: there are size classes between them (kmalloc-96, kmalloc-192).",
          [v.class] = v.class .. " is ksize(p) itself, the object's size class; the question asks how much of it is beyond the " .. v.n .. " bytes.",
          [4096 - v.n] = v.n .. " bytes do not take a whole page: they come from a slab cache of small objects.",
        }
      end,
      hints = function(v)
        return {
          "The slab caches are kmalloc-8, -16, -32, -64, -96, -128, -192, -256, ... Which is the smallest that holds " .. v.n .. " bytes? Subtract " .. v.n .. " from it.",
          "Try it: print(ksize(kmalloc(" .. v.n .. ", GFP_KERNEL)) - " .. v.n .. ")",
        }
      end,
      explain = "kmalloc serves small sizes from caches of fixed-size objects; besides the powers of two there are kmalloc-96 and kmalloc-192, because rounding 65 bytes up to 128 would waste almost half of every object.",
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
      prompt = "Write size_class(n): return the number of bytes kmalloc really gives you for an n-byte request (1 <= n <= 8192). Free whatever you allocate. It is called for many sizes, on 6.x and 2.6 kernels, 32-bit and 64-bit.",
      -- Every size-class boundary (s and s + 1 for each class) of the
      -- machine's own caches, plus sizes nobody can guess; four machines,
      -- because the classes differ between eras and architectures (2.6 on
      -- x86_64 has no size-96).
      cases = function(rng)
        local list = {}
        for _, m in ipairs{ { "6.x", "x86_32" }, { "2.6", "x86_64" }, { "2.6", "x86_32" }, { "6.x", "x86_64" } } do
          list[#list + 1] = { boot = { era = m[1], arch = m[2] }, label = "a " .. m[1] .. " kernel on " .. m[2],
                              extra = { rng:int(1, 8192), rng:int(1, 1024), rng:int(1, 256) } }
        end
        return list
      end,
      setup = function(case)
        -- The boundaries (n - 1 and n where the class changes), read from
        -- the booted machine's caches. ksize(kmalloc(n)) never shrinks as n
        -- grows, so a bisection finds every boundary in about a hundred
        -- allocations instead of trying all 8192 sizes.
        local function class(n)
          local p = kmalloc(n, GFP_KERNEL)
          local s = ksize(p)
          kfree(p)
          return s
        end
        local sizes = { 1 }
        local function boundaries(lo, slo, hi, shi)
          if slo == shi then return end
          if hi == lo + 1 then
            sizes[#sizes + 1] = lo
            sizes[#sizes + 1] = hi
            return
          end
          local mid = (lo + hi) // 2
          local smid = class(mid)
          boundaries(lo, slo, mid, smid)
          boundaries(mid, smid, hi, shi)
        end
        boundaries(1, class(1), 8192, class(8192))
        sizes[#sizes + 1] = 8192
        for _, n in ipairs(case.extra) do sizes[#sizes + 1] = n end
        local want = {}
        for i, n in ipairs(sizes) do
          local p = kmalloc(n, GFP_KERNEL)
          want[i] = ksize(p)
          kfree(p)
        end
        case.sizes, case.want = sizes, want
        return sizes
      end,
      call = function(size_class, sizes)
        local out = {}
        for i = 1, #sizes do out[i] = size_class(sizes[i]) end
        return out
      end,
      check = function(r)
        local got = r.returned
        if type(got) ~= "table" then return fail("size_class returned nothing usable") end
        for i, n in ipairs(r.case.sizes) do
          local want, g = r.case.want[i], got[i]
          if g ~= want then
            local p2 = 1
            while p2 < n do p2 = p2 * 2 end
            if g == n then
              return fail("size_class(" .. n .. ") returned " .. n .. ", the size you asked for; ksize() tells you what you got (" .. want .. ").", { hint = "asked" })
            end
            if g == p2 or g == math.max(p2, 8) then
              return fail("size_class(" .. n .. ") returned " .. tostring(g) .. ", the next power of two, but kmalloc gives " .. want .. ": the size classes are the caches this kernel has, not powers of two.", { hint = "pow2" })
            end
            return fail("size_class(" .. n .. ") should be " .. want .. ", got " .. tostring(g) .. ".", { hint = "measure" })
          end
        end
        if #r.allocated > 0 then
          return fail("the answers are right, but your function left " .. #r.allocated .. " allocation(s) behind: every kmalloc needs its kfree.", { hint = "leak" })
        end
        return pass()
      end,
      hints = {
        "Allocate n bytes, ask ksize() about the pointer, free it, return the size.",
        "local p = kmalloc(n, GFP_KERNEL) ... kfree(p) ... return size",
        asked = { "ksize(p) is the usable size of the object you got, which is at least n.", "local p = kmalloc(n, GFP_KERNEL); local size = ksize(p); kfree(p); return size" },
        pow2 = { "Look at cat(\"/proc/slabinfo\") on a 6.x and a 2.6 machine: which caches are there between the powers of two?", "Do not compute the class: ask the allocator (kmalloc, then ksize, then kfree)." },
        measure = { "Ask the allocator instead of computing: kmalloc(n, GFP_KERNEL), then ksize() of the pointer." },
        leak = { "Free the object once you have its size: kfree(p) before you return." },
      },
      explain = "ksize() reports the size of the object the allocator chose, whatever caches the running kernel has: 96 and 192 on 6.x, no size-96 on a 64-bit 2.6 kernel. Asking the allocator is right on every machine; a formula is right on the one it was written for.",
    },
    task{
      id = "kstrdup", points = 2, expects = "kstrdup", template = "s",
      prompt = "Write kstrdup(s): copy the Lua string s, plus a terminating NUL byte, into memory from kmalloc and return its address; return nil if the allocation fails (the caller frees the copy). It is called with strings of many lengths.",
      cases = function(rng)
        local function text(n)
          local t = {}
          for i = 1, n do t[i] = string.char(rng:int(33, 126)) end
          return table.concat(t)
        end
        return {
          { args = { "hello, kernel" } },
          { args = { "" } },
          { args = { text(rng:int(1, 63)) } },
          { args = { text(rng:int(100, 300)) } },
          { args = { text(rng:int(5000, 9000)) }, label = "kstrdup of a string longer than 4 KiB" },
        }
      end,
      check = function(r)
        local s = r.case.args[1]
        local shown = #s > 20 and ("a " .. #s .. "-byte string") or string.format("%q", s)
        local got = bytes_at(r.returned, #s + 1)
        if got == nil then return fail("kstrdup(" .. shown .. ") should return the address of the copy, got " .. tostring(r.returned) .. ".") end
        if got:sub(1, #s) ~= s then return fail("the copy does not hold the string " .. shown .. ".") end
        if got:byte(#s + 1) ~= 0 then return fail("the copy has no terminating NUL byte: a C string needs #s + 1 bytes, the last one 0.", { hint = "nul" }) end
        if #r.allocated ~= 1 then return fail("kstrdup should leave exactly one allocation (the copy); it left " .. #r.allocated .. ".") end
        return pass()
      end,
      hints = { "kmalloc(#s + 1, GFP_KERNEL), then poke(p, s .. \"\\0\").", "Check the pointer before you use it: if not p then return nil end",
                nul = { "A C string ends with a 0 byte: allocate #s + 1 bytes and write s .. \"\\0\"." } },
    },
    task{
      id = "null_check", points = 2, expects = "alloc_array", template = "n, size",
      prompt = "Write alloc_array(n, size): allocate a zeroed array of n elements of size bytes each, store n in its first 4 bytes as a header (poke(p, string.pack(\"<I4\", n))), and return its address -- or nil when the allocation fails. Each check calls it first with a small array, then with one larger than kmalloc can give on the machine it runs on (6.x and 2.6 kernels: their limits differ).",
      allow_reports = { "warning", "allocation-failure" },
      -- Too big for this machine's kmalloc, whatever limit the learner
      -- remembers: on 2.6 (128 KiB) a size below 6.x's 4 MiB fails too.
      cases = function(rng)
        local function small() return { rng:int(2, 32), rng:pick{ 8, 16, 24, 64 } } end
        local a, b, c = small(), small(), small()
        return {
          { boot = { era = "6.x" }, args = { a[1], a[2], 65536, 1024 } },
          { boot = { era = "2.6" }, args = { b[1], b[2], rng:int(33, 1000), 4096 } },
          { boot = { era = "6.x", arch = "x86_64" }, args = { c[1], c[2], rng:int(1025, 4096), 4096 } },
        }
      end,
      call = function(alloc_array, n, size, big_n, big_size)
        local small = alloc_array(n, size)
        return small, alloc_array(big_n, big_size)
      end,
      check = function(r)
        local n, size, big_n, big_size = table.unpack(r.case.args)
        local small, big = r.results[1], r.results[2]
        local got = bytes_at(small, n * size)
        if got == nil then return fail("alloc_array(" .. n .. ", " .. size .. ") should return the array's address, got " .. tostring(small) .. ".") end
        if got:sub(1, 4) ~= string.pack("<I4", n) then return fail("the first 4 bytes should hold n = " .. n .. " (string.pack(\"<I4\", n)).") end
        if got:sub(5) ~= string.rep("\0", n * size - 4) then return fail("the rest of the array should be zero: kmalloc does not clear memory.", { hint = "zero" }) end
        if big ~= nil then
          return fail(big_n .. " * " .. big_size .. " bytes is more than KMALLOC_MAX_SIZE (" .. KMALLOC_MAX_SIZE .. ") on this machine, so alloc_array(" .. big_n .. ", " .. big_size .. ") must return nil; got " .. tostring(big) .. ".", { hint = "null" })
        end
        if #r.allocated ~= 1 then return fail("after the failed call only the first array should be allocated; " .. #r.allocated .. " allocation(s) are.") end
        return pass()
      end,
      hints = { "kzalloc (or kcalloc) returned nil for the big one: what does your function do next?", "if not p then return nil end -- before any poke",
                null = { "Do not decide from a size you remember: the allocator knows its limit. Return nil when it returns nil." },
                zero = { "kzalloc(n * size, GFP_KERNEL) or kcalloc(n, size, GFP_KERNEL) return zeroed memory." } },
      explain = "Every allocation can fail, and the limit depends on the kernel: 4 MiB on 6.x, 128 KiB on 2.6. Checking what the allocator returned is right everywhere; a size test is right only where its constant is.",
    },
    task{
      id = "no_leak", points = 3, expects = "make_reply", template = "",
      prompt = "Write make_reply(): allocate a 64-byte reply buffer that will be copied to user space, put the 5 bytes \"hello\" at its start, and return its address. The other 59 bytes must be zero: nothing of the buffer's previous owner may leak.",
      -- Both eras and both architectures: a 64-byte object's previous
      -- owner left a secret in it every time.
      cases = {
        { boot = {} }, { boot = { arch = "x86_64" } }, { boot = { era = "2.6" } },
      },
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
