-- Shortcut: a lock of one's own instead of the queue's lock. Preemption
-- and interrupts are off while appending, as with q.lock, but the handler
-- takes q.lock, so nothing keeps it out of the list.
-- expect score: 8
-- expect push_msg: fail but not q.lock
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
  local my_lock = spin_lock_init("my_lock")
  local p = kmalloc(#s, GFP_KERNEL | __GFP_NOWARN)
  if not p then return -ENOMEM end
  poke(p, s)
  local flags = spin_lock_irqsave(my_lock)
  q.items[#q.items + 1] = p
  spin_unlock_irqrestore(my_lock, flags)
  return 0
end
