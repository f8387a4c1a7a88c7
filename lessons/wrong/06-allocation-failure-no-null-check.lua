-- Common mistakes: using what GFP_ATOMIC returned without checking it;
-- returning IRQ_NONE for a dropped packet; refilling with GFP_KERNEL right
-- in the handler; retrying in a loop.
-- expect score: 1
-- expect on_null: fail IRQ_NONE means 'not my device'
-- expect reserves: fail GFP_ATOMIC never sleeps
-- expect atomic_copy: bug kernel NULL pointer dereference
-- expect pool: bug BUG: sleeping function called from invalid context
answers = answers or {}
answers.reserves = "b"
answers.watermark = "126"
answers.on_null = "d"

function copy_packet(data)
  local p = kmalloc(#data, GFP_ATOMIC)
  poke(p, data)
  return p
end

function rx_packet(pool, data)
  local buf = table.remove(pool.free)
  if not buf then
    pool.dropped = pool.dropped + 1
    return IRQ_NONE
  end
  poke(buf, data)
  pool.rx[#pool.rx + 1] = { buf = buf, len = #data }
  if #pool.free < pool.low then
    local b = kmalloc(2048, GFP_KERNEL)
    if b then pool.free[#pool.free + 1] = b end
  end
  return IRQ_HANDLED
end
