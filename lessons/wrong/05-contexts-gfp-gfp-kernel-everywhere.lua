-- Common mistake: GFP_KERNEL everywhere, including an interrupt handler and
-- under a spinlock: the sleeping-in-atomic BUG.
-- expect score: 5
-- expect irq_flags: fail GFP_KERNEL can sleep
-- expect irq_alloc: bug BUG: sleeping function called from invalid context
-- expect under_lock: bug BUG: sleeping function called from invalid context
-- expect syscall_alloc: pass
answers = answers or {}
answers.irq_flags = GFP_KERNEL
answers.kernel_value = "0xcc0"
answers.syscall = "b"

function rx_alloc(len)
  return kmalloc(len, GFP_KERNEL)
end

function new_node(value)
  local node = kmalloc(16, GFP_KERNEL)
  if not node then return nil end
  poke(node, string.pack("<I4", value))
  return node
end

function sys_setup_buffer(size)
  device_buffer = kmalloc(size, GFP_KERNEL)
  if not device_buffer then return -ENOMEM end
  return 0
end
