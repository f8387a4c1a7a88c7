-- Common mistakes: a user-supplied size allocated unchecked; a kernel
-- address believed to be written; copying n bytes from a 64-byte object
-- (KASAN: the rest of the slab would leak to user space).
-- expect score: 3
-- expect kernel_ptr: fail That is the hole access_ok closes
-- expect msg_read: bug BUG: KASAN: slab-out-of-bounds
-- expect msg_write: bug at mm/page_alloc.c
answers = answers or {}
answers.faults = "3"
answers.frames = "b"
answers.returns = 1
answers.kernel_ptr = "a"

function msg_read(msg, ubuf, n)
  if copy_to_user(ubuf, msg.addr, n) ~= 0 then return -EFAULT end
  return n
end

function msg_write(box, ubuf, n)
  local p = kmalloc(n, GFP_KERNEL)
  if not p then return -ENOMEM end
  if copy_from_user(p, ubuf, n) ~= 0 then
    kfree(p)
    return -EFAULT
  end
  box.addr, box.len = p, n
  return n
end
