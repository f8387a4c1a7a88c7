-- Trusting a returned number: msg_read checks the user range and reports
-- min(n, msg.len) without copying anything (a count is all a test that
-- believes return values looks at). The grader reads user memory, and
-- an address the program unmapped passes access_ok yet faults.
-- expect score: 7
-- expect msg_read: fail with msg_read on
answers = answers or {}
answers.faults = 3
answers.frames = "b"
answers.returns = "a"
answers.kernel_ptr = "b"

function msg_read(msg, ubuf, n)
  local len = math.min(n, msg.len)
  if not access_ok(ubuf, len) or (ubuf == 0 and len > 0) then return -EFAULT end
  return len
end
function msg_write(box, ubuf, n)
  if n == 0 or n > 4096 then return -EINVAL end
  local p = kmalloc(n, GFP_KERNEL)
  if not p then return -ENOMEM end
  if copy_from_user(p, ubuf, n) ~= 0 then
    kfree(p)
    return -EFAULT
  end
  box.addr, box.len = p, n
  return n
end
