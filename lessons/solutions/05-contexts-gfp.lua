-- Reference solution for lesson 5 (full marks).
answers = answers or {}
answers.irq_flags = GFP_ATOMIC
answers.kernel_value = 0xcc0
answers.syscall = "b"

function rx_alloc(len)
  return kmalloc(len, GFP_ATOMIC)
end

function new_node(value)
  local node = kmalloc(16, GFP_ATOMIC)
  if not node then return nil end
  poke(node, string.pack("<I4", value))
  return node
end

device_buffer = nil

function sys_setup_buffer(size)
  device_buffer = kmalloc(size, GFP_KERNEL)
  if not device_buffer then return -ENOMEM end
  return 0
end
