-- Mishandled failure: after the first NULL, copy_packet decides memory is
-- gone for good and drops every later packet without trying. Under
-- pressure that looks right (the failures come at the end); with one
-- allocation failing early or in the middle (fault injection), the
-- packets after it are lost for nothing.
-- expect score: 8
-- expect atomic_copy: fail with memory to spare and at most one kmalloc failing
answers = answers or {}
answers.reserves = "a"
answers.watermark = 126
answers.on_null = "c"

local out_of_memory = false

function copy_packet(data)
  if out_of_memory then return nil end
  local p = kmalloc(#data, GFP_ATOMIC | __GFP_NOWARN)
  if not p then
    out_of_memory = true
    return nil
  end
  poke(p, data)
  return p
end

local function refill(pool)
  while #pool.free < pool.size do
    local b = kmalloc(2048, GFP_KERNEL)
    if not b then break end
    pool.free[#pool.free + 1] = b
  end
end

function rx_packet(pool, data)
  local buf = table.remove(pool.free)
  if not buf then
    pool.dropped = pool.dropped + 1
  else
    poke(buf, data)
    pool.rx[#pool.rx + 1] = { buf = buf, len = #data }
  end
  if #pool.free < pool.low then
    schedule_work(function() refill(pool) end)
  end
  return IRQ_HANDLED
end
