-- Common mistakes: treating copy_*_user's result as an errno or as the
-- bytes copied; every page of a malloc'ed buffer backed at once.
-- expect score: 1
-- expect faults: fail Only the pages that were touched are backed
-- expect returns: fail copy_to_user returns the number of bytes NOT copied
-- expect msg_read: fail return -EFAULT, not 0
-- expect msg_write: fail free your buffer when the copy fails
answers = answers or {}
answers.faults = 14
answers.frames = "a"
answers.returns = "b"
answers.kernel_ptr = "b"

function msg_read(msg, ubuf, n)
  local len = math.min(n, msg.len)
  local err = copy_to_user(ubuf, msg.addr, len)
  if err < 0 then return err end
  return len - err
end

function msg_write(box, ubuf, n)
  if n == 0 or n > 4096 then return -EINVAL end
  local p = kmalloc(n, GFP_KERNEL)
  if not p then return -ENOMEM end
  if copy_from_user(p, ubuf, n) ~= 0 then return -EFAULT end
  box.addr, box.len = p, n
  return n
end
