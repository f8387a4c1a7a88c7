-- Common mistakes: GFP_NOWAIT where the reserves are needed; refilling the
-- pool from the handler with GFP_ATOMIC (memory is exhausted: nothing
-- comes back) instead of deferring to process context; __GFP_HIGH alone
-- taken for the whole reserve.
-- expect score: 3
-- expect watermark: fail That is __GFP_HIGH's half
-- expect atomic_copy: fail no packet was copied
-- expect pool: fail while it ran in the interrupt handler
answers = answers or {}
answers.reserves = "a"
answers.watermark = 168
answers.on_null = "c"

function copy_packet(data)
  local p = kmalloc(#data, GFP_NOWAIT)
  if not p then return nil end
  poke(p, data)
  return p
end

function rx_packet(pool, data)
  local buf = table.remove(pool.free)
  if not buf then
    pool.dropped = pool.dropped + 1
  else
    poke(buf, data)
    pool.rx[#pool.rx + 1] = { buf = buf, len = #data }
  end
  while #pool.free < pool.low do
    local b = kmalloc(2048, GFP_ATOMIC | __GFP_NOWARN)
    if not b then break end
    pool.free[#pool.free + 1] = b
  end
  return IRQ_HANDLED
end
