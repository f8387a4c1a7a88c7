-- Common mistake: an all-or-nothing refill. The work item allocates the
-- missing buffers into a batch and adds them to the pool only when every
-- kmalloc succeeded; when one fails it gives up and forgets the batch, so
-- the buffers it did get are leaked. Memory pressure alone never reaches
-- that path here; the grader injects the failure (failslab).
-- expect score: 7
-- expect pool: fail a refill that gives up must not lose what it allocated
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

local function refill(pool)
  local batch = {}
  while #pool.free + #batch < pool.size do
    local b = kmalloc(2048, GFP_KERNEL)
    if not b then return end          -- the leak: batch is lost
    batch[#batch + 1] = b
  end
  for _, b in ipairs(batch) do pool.free[#pool.free + 1] = b end
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
