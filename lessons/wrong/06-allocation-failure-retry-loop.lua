-- Common mistakes: retrying until the allocation succeeds (it never does
-- with interrupts off); a noisy GFP_ATOMIC; a tasklet for the refill.
-- expect score: 3
-- expect on_failure: fail Nothing frees memory while this CPU spins
-- expect rx_irq: timeout
-- expect defer: fail or from a tasklet (softirq context, still atomic)
answers = answers or {}
answers.on_failure = "a"
answers.reserve = 2

function rx_ring_init(ring)
  for i = 1, ring.target do
    local b = kmalloc(ring.size, GFP_KERNEL)
    if not b then return -ENOMEM end
    ring.pool[i] = b
  end
  return 0
end

function rx_take_buffer(ring)
  local b = table.remove(ring.pool)
  while not b do b = kmalloc(ring.size, GFP_ATOMIC | __GFP_NOWARN) end
  return b
end

function rx_out_of_buffers(ring)
  ring.dropped = ring.dropped + 1
  tasklet_schedule(ring.refill)
end
