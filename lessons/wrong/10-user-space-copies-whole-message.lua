-- Copying the whole message whatever n is: the user asked for n bytes and
-- the bytes after them in its buffer are overwritten (the return value is
-- right, so only reading user memory shows it).
-- expect score: 7
-- expect msg_read: fail bytes past the
answers = answers or {}
answers.faults = 3
answers.frames = "b"
answers.returns = "a"
answers.kernel_ptr = "b"

function msg_read(msg, ubuf, n)
  if copy_to_user(ubuf, msg.addr, msg.len) ~= 0 and n > 0 then return -EFAULT end
  return math.min(n, msg.len)
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
