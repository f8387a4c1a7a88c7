-- The misconception the lesson exists to correct: kmalloc rounds up to a
-- power of two (q1: 256 - 145 in the seed-0 variant). Right for many
-- sizes, wrong at kmalloc-96 and kmalloc-192 (and for sizes below 32 on
-- 2.6), which the cases cover on every machine.
-- expect score: 8
-- expect q1: fail kmalloc does not round up to a power of two
-- expect size_class: fail the next power of two
answers = answers or {}
answers.q1 = 111
answers.q2 = "b"

function size_class(n)
  local size = 8
  while size < n do size = size * 2 end
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
