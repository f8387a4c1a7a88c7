-- Shortcuts that only fit the inputs a one-case grader asked: a table of
-- size classes for a few sizes (and a guess in between), and a size test
-- against today's 4 MiB limit instead of a NULL check (a 2.6 kernel's
-- limit is 128 KiB, so kcalloc returns NULL below 4 MiB there).
-- expect score: 8
-- expect size_class: fail
-- expect null_check: bug kernel NULL pointer dereference
answers = answers or {}
answers.q1 = 47
answers.q2 = "b"

local known = { [100] = 128, [200] = 256, [1000] = 1024, [4000] = 4096 }
function size_class(n)
  return known[n] or 256
end

function kstrdup(s)
  local p = kmalloc(#s + 1, GFP_KERNEL | __GFP_NOWARN)
  if not p then return nil end
  poke(p, s .. "\0")
  return p
end

function alloc_array(n, size)
  if n * size > 4 * 1024 * 1024 then return nil end
  local p = kcalloc(n, size, GFP_KERNEL | __GFP_NOWARN)
  poke(p, string.pack("<I4", n))
  return p
end

function make_reply()
  local p = kzalloc(64, GFP_KERNEL)
  if not p then return nil end
  poke(p, "hello")
  return p
end
