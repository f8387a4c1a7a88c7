-- Common mistake: GFP_ATOMIC "to be safe" everywhere, including a syscall,
-- where it fails for lack of reclaim; a syscall taken for an interrupt.
-- expect score: 7
-- expect syscall: fail A syscall is entered through a trap instruction
-- expect syscall_alloc: fail GFP_KERNEL lets the allocator reclaim and compact
-- expect kernel_value: fail 0x820 is GFP_ATOMIC
answers = answers or {}
answers.irq_flags = "gfp_atomic"
answers.kernel_value = GFP_ATOMIC
answers.syscall = "a"

function rx_alloc(len)
  return kmalloc(len, GFP_ATOMIC)
end

function new_node(value)
  local node = kmalloc(16, GFP_ATOMIC)
  if not node then return nil end
  poke(node, string.pack("<I4", value))
  return node
end

function sys_setup_buffer(size)
  device_buffer = kmalloc(size, GFP_ATOMIC | __GFP_NOWARN)
  if not device_buffer then return -ENOMEM end
  return 0
end
