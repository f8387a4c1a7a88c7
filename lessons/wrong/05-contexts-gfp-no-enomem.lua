-- Common mistake: no NULL check before using the buffer: a message larger
-- than the machine's kmalloc limit crashes the syscall instead of
-- returning -ENOMEM.
-- expect score: 8
-- expect push_msg: bug kernel NULL pointer dereference
answers = answers or {}
answers.syscall_flags = "a"
answers.irq_flags = "bc"
answers.sleep_bit = 0x400
answers.spinlock = "b"

function record_event(irq)
  local p = kzalloc(32, GFP_ATOMIC)
  if not p then return nil end
  poke(p, irq)
  return p
end

function push_msg(q, s)
  local p = kmalloc(#s, GFP_KERNEL)
  poke(p, s)
  local flags = spin_lock_irqsave(q.lock)
  q.items[#q.items + 1] = p
  spin_unlock_irqrestore(q.lock, flags)
  return 0
end
