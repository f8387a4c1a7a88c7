-- Common mistakes: GFP_KERNEL in an interrupt handler and under a spinlock;
-- believing a syscall stays process context whatever locks it holds.
-- expect score: 2
-- expect irq_flags: fail GFP_KERNEL can sleep; an interrupt handler cannot
-- expect spinlock: fail The spinlock disabled preemption
-- expect irq_event: bug BUG: sleeping function called from invalid context
-- expect push_msg: bug BUG: sleeping function called from invalid context
answers = answers or {}
answers.syscall_flags = "a"
answers.irq_flags = "abc"
answers.sleep_bit = "0x400"
answers.spinlock = "a"

function record_event(irq)
  local p = kzalloc(32, GFP_KERNEL)
  if not p then return nil end
  poke(p, irq)
  return p
end

function push_msg(q, s)
  local flags = spin_lock_irqsave(q.lock)
  local p = kmalloc(#s, GFP_KERNEL)
  if not p then
    spin_unlock_irqrestore(q.lock, flags)
    return -ENOMEM
  end
  poke(p, s)
  q.items[#q.items + 1] = p
  spin_unlock_irqrestore(q.lock, flags)
  return 0
end
