-- Common mistakes (q1: no slack, as if ksize were the size asked for): ksize taken for the requested size; a reply buffer from
-- kmalloc, which leaks the previous owner's data.
-- expect score: 5
-- expect q1: fail ksize() is not the size you asked for
-- expect no_leak: fail leaks the previous owner's data
-- expect size_class: fail allocation(s) behind: every kmalloc needs its kfree
answers = answers or {}
answers.q1 = "0 bytes"
answers.q2 = 2

function size_class(n)
  return ksize(kmalloc(n, GFP_KERNEL))
end

function kstrdup(s)
  local p = kmalloc(#s + 1, GFP_KERNEL)
  if p == nil then return nil end
  poke(p, s .. "\0")
  return p
end

function alloc_array(n, size)
  local p = kzalloc(n * size, GFP_KERNEL)
  if p == nil then return nil end
  poke(p, string.pack("<I4", n))
  return p
end

function make_reply()
  local p = kmalloc(64, GFP_KERNEL)
  poke(p, "hello")
  return p
end
