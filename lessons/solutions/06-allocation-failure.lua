-- Reference solution for lesson 6 (full marks).
answers = answers or {}
answers.on_failure = "c"
answers.reserve = "b"

function rx_ring_init(ring)
  for i = 1, ring.target do
    local b = kmalloc(ring.size, GFP_KERNEL)
    if not b then
      for j = 1, #ring.pool do kfree(ring.pool[j]) end
      ring.pool = {}
      return -ENOMEM
    end
    ring.pool[i] = b
  end
  return 0
end

function rx_take_buffer(ring)
  local b = table.remove(ring.pool) or kmalloc(ring.size, GFP_ATOMIC | __GFP_NOWARN)
  if not b then ring.dropped = ring.dropped + 1 end
  return b
end

function rx_out_of_buffers(ring)
  ring.dropped = ring.dropped + 1
  schedule_work(ring.refill)
end
