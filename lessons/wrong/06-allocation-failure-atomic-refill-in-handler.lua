-- Common mistake: the pool is refilled right in the interrupt handler with
-- GFP_ATOMIC instead of from a work item. Under pressure the refill fails;
-- once memory is back it succeeds, so the pool looks full afterwards -- but
-- the handler dipped into the atomic reserves on every packet. The grader
-- counts the allocations the handler attempted.
-- expect score: 7
-- expect pool: fail while it ran in the interrupt handler
answers = answers or {}
answers.reserves = "a"
answers.watermark = 126
answers.on_null = "c"

function copy_packet(data)
  local p = kmalloc(#data, GFP_ATOMIC | __GFP_NOWARN)
  if not p then return nil end
  poke(p, data)
  return p
end

local function refill_atomic(pool)
  while #pool.free < pool.size do
    local b = kmalloc(2048, GFP_ATOMIC | __GFP_NOWARN)
    if not b then break end
    pool.free[#pool.free + 1] = b
  end
end

function rx_packet(pool, data)
  refill_atomic(pool)
  local buf = table.remove(pool.free)
  if not buf then
    pool.dropped = pool.dropped + 1
  else
    poke(buf, data)
    pool.rx[#pool.rx + 1] = { buf = buf, len = #data }
  end
  refill_atomic(pool)
  return IRQ_HANDLED
end
