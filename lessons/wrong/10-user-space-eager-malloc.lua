-- Common mistakes: believing malloc backs every page at once; reading the
-- user's pointer directly instead of copying.
-- expect score: 2
-- expect lazy: fail malloc only reserves addresses
-- expect read: bug BUG: unable to handle page fault for address
-- expect why_copy: fail The kernel trusts no user pointer
-- expect faults: fail 10 untouched pages fault once each
answers = answers or {}
answers.lazy = 256
answers.returns = "b"
answers.why_copy = "d"

function device_read(kbuf, klen, ubuf, ulen)
  local n = math.min(klen, ulen)
  memcpy(ubuf, kbuf, n)
  return n
end

function faults_touching(ubuf, pages)
  return 0
end
