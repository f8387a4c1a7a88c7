-- Reference solution for lesson 1 (full marks).
answers = answers or {}
answers.q1 = 47
answers.q2 = "b"

function size_class(n)
  local p = kmalloc(n, GFP_KERNEL)
  if not p then return nil end
  local size = ksize(p)
  kfree(p)
  return size
end

function kstrdup(s)
  local p = kmalloc(#s + 1, GFP_KERNEL | __GFP_NOWARN)
  if not p then return nil end
  poke(p, s .. "\0")
  return p
end

function alloc_array(n, size)
  local p = kcalloc(n, size, GFP_KERNEL | __GFP_NOWARN)
  if not p then return nil end
  poke(p, string.pack("<I4", n))
  return p
end

function make_reply()
  local p = kzalloc(64, GFP_KERNEL)
  if not p then return nil end
  poke(p, "hello")
  return p
end
