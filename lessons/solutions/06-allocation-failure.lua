-- Reference solution for lesson 6 (full marks).
answers = answers or {}
answers.reserves = "a"
answers.watermark = 126
answers.on_null = "c"

-- Atomic context, and failure is expected: GFP_ATOMIC for the reserves,
-- __GFP_NOWARN because the caller copes with nil.
function copy_packet(data)
  local p = kmalloc(#data, GFP_ATOMIC | __GFP_NOWARN)
  if not p then return nil end
  poke(p, data)
  return p
end

-- Process context (a kworker): GFP_KERNEL may reclaim and wait.
local function refill(pool)
  while #pool.free < pool.size do
    local b = kmalloc(2048, GFP_KERNEL)
    if not b then break end
    pool.free[#pool.free + 1] = b
  end
end

-- Hardirq context: no allocation at all, only buffers from the pool.
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
