-- Laundering: size_class leaks its probe object (never freed)
-- and then boots a fresh machine, so that the leak would be left on
-- a machine the grader no longer looks at. boot{} is refused inside a graded
-- call: the task is an error.
-- expect score: 10
-- expect size_class: error boot{} is not allowed inside a graded task
answers = answers or {}
answers.q1 = 47
answers.q2 = "b"

function size_class(n)
  local p = kmalloc(n, GFP_KERNEL)
  local size = ksize(p)
  boot{}              -- the leak of p stays behind on the old machine
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
