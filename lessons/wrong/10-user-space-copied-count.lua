-- Common mistake: taking copy_to_user's result for the bytes copied, and
-- copying the whole message whatever the user's buffer size.
-- expect score: 4
-- expect returns: fail It is the other way round
-- expect read: fail with a 5-byte buffer copy 5 bytes and return 5; you returned 22
answers = answers or {}
answers.lazy = 3
answers.returns = "a"
answers.why_copy = "b"

function device_read(kbuf, klen, ubuf, ulen)
  local copied = copy_to_user(ubuf, kbuf, klen)
  if copied == 0 and klen > 0 then return klen end
  return -EFAULT
end

function faults_touching(ubuf, pages)
  local before = stats().page_faults
  for i = 0, pages - 1 do user.poke(ubuf + i * PAGE_SIZE, "x") end
  return stats().page_faults - before
end
