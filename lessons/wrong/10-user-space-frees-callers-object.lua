-- Laundering: msg_write leaks its buffer when the user buffer is too short
-- (a partial copy), and frees the kernel object the caller passed as ubuf
-- to keep the count of live allocations unchanged. Counted per allocation,
-- the leak shows, and freeing what it does not own is a finding of its own.
-- expect score: 7
-- expect msg_write: fail freed memory it does not own
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
  local left = copy_from_user(p, ubuf, n)
  if left == n then
    kfree(p)
    -- The cheat: a write from a kernel address names the caller's own
    -- object; freeing it balances the buffer leaked below.
    if not access_ok(ubuf, 1) then kfree(ubuf) end
    return -EFAULT
  elseif left ~= 0 then
    return -EFAULT      -- the leak: p is never freed
  end
  box.addr, box.len = p, n
  return n
end
