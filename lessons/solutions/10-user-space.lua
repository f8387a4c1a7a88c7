-- Reference solution for lesson 10 (full marks).
answers = answers or {}
answers.lazy = 3
answers.returns = "b"
answers.why_copy = "b"

function device_read(kbuf, klen, ubuf, ulen)
  local n = math.min(klen, ulen)
  if copy_to_user(ubuf, kbuf, n) ~= 0 then return -EFAULT end
  return n
end

function faults_touching(ubuf, pages)
  local before = stats().page_faults
  for i = 0, pages - 1 do user.poke(ubuf + i * PAGE_SIZE, "x") end
  return stats().page_faults - before
end
