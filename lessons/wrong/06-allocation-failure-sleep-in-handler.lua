-- Common mistakes: GFP_KERNEL in the handler when the pool runs dry;
-- refilling directly from the handler.
-- expect score: 3
-- expect on_failure: fail GFP_KERNEL may sleep
-- expect rx_irq: bug BUG: sleeping function called from invalid context
-- expect defer: fail ring.refill ran in atomic context -- called from the handler itself
-- expect preallocate: pass
answers = answers or {}
answers.on_failure = "b"
answers.reserve = "b"

function rx_ring_init(ring)
  for i = 1, ring.target do
    ring.pool[i] = kmalloc(ring.size, GFP_KERNEL)
  end
  return 0
end

function rx_take_buffer(ring)
  local b = table.remove(ring.pool) or kmalloc(ring.size, GFP_KERNEL)
  if not b then ring.dropped = ring.dropped + 1 end
  return b
end

function rx_out_of_buffers(ring)
  ring.dropped = ring.dropped + 1
  ring.refill()
end
