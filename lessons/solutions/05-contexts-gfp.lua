-- Reference solution for lesson 5 (full marks).
answers = answers or {}
answers.syscall_flags = "a"
answers.irq_flags = "bc"
answers.sleep_bit = 0x400
answers.spinlock = "b"

-- Hardirq context: GFP_ATOMIC never sleeps; __GFP_ZERO clears the record.
function record_event(irq)
  local p = kzalloc(32, GFP_ATOMIC)
  if not p then return nil end
  poke(p, irq)
  return p
end

-- Process context: allocate (may sleep) before taking the lock; the lock is
-- shared with an interrupt handler, so take it with interrupts off.
function push_msg(q, s)
  local p = kmalloc(#s, GFP_KERNEL)
  if not p then return -ENOMEM end
  poke(p, s)
  local flags = spin_lock_irqsave(q.lock)
  q.items[#q.items + 1] = p
  spin_unlock_irqrestore(q.lock, flags)
  return 0
end
