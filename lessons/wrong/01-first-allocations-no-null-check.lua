-- Common mistakes: no NULL check after kmalloc; returning the requested
-- size; believing kmalloc returns an errno. (q1 asks for ksize(p) - 145
-- in the seed-0 variant, so its "128" does not score.)
-- expect score: 5
-- expect q2: fail kmalloc returns a pointer
-- expect size_class: fail the size you asked for
-- expect null_check: bug kernel NULL pointer dereference
-- expect kstrdup: pass
answers = answers or {}
answers.q1 = "128"
answers.q2 = "a"

function size_class(n)
  local p = kmalloc(n, GFP_KERNEL)
  kfree(p)
  return n
end

function kstrdup(s)
  local p = kmalloc(#s + 1, GFP_KERNEL)
  poke(p, s .. "\0")
  return p
end

function alloc_array(n, size)
  local p = kzalloc(n * size, GFP_KERNEL)
  poke(p, string.pack("<I4", n))
  return p
end

function make_reply()
  local p = kzalloc(64, GFP_KERNEL)
  poke(p, "hello")
  return p
end
