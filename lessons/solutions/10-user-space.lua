-- Reference solution for lesson 10 (full marks).
answers = answers or {}
answers.faults = 3
answers.frames = "b"
answers.returns = "a"
answers.kernel_ptr = "b"

function msg_read(msg, ubuf, n)
  local len = math.min(n, msg.len)
  if copy_to_user(ubuf, msg.addr, len) ~= 0 then return -EFAULT end
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
