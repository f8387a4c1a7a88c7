-- Common mistakes: GFP_ATOMIC "to be safe" in a syscall; plain spin_lock on
-- a lock the interrupt handler takes too (lockdep's inconsistent lock
-- state); kmalloc where the record must be zeroed; kswapd's bit taken for
-- the one that sleeps.
-- expect score: 1
-- expect syscall_flags: fail GFP_ATOMIC is not 'safer'
-- expect irq_flags: fail GFP_ATOMIC is right, and it is not the only one
-- expect sleep_bit: fail only wakes the kswapd thread
-- expect irq_event: fail kmalloc does not clear memory
-- expect push_msg: bug WARNING: inconsistent lock state (a lock that an interrupt handler takes
answers = answers or {}
answers.syscall_flags = "c"
answers.irq_flags = "b"
answers.sleep_bit = 0x800
answers.spinlock = 2

function record_event(irq)
  local p = kmalloc(32, GFP_ATOMIC)
  if not p then return nil end
  poke(p, irq)
  return p
end

function push_msg(q, s)
  local p = kmalloc(#s, GFP_ATOMIC)
  if not p then return -ENOMEM end
  poke(p, s)
  spin_lock(q.lock)
  q.items[#q.items + 1] = p
  spin_unlock(q.lock)
  return 0
end
