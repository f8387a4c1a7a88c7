local _G, next, type, rawget, load, error, select, tostring, math_type =
  _G, next, type, rawget, load, error, select, tostring, math.type
local pack, unpack, sort, concat = table.pack, table.unpack, table.sort, table.concat
local setmetatable, sbyte, schar, ssub, sformat = setmetatable, string.byte, string.char, string.sub, string.format

-- P, the pristine globals (every library table copied), and `saved`,
-- each library table with its original contents: built by the host
-- before anything else ran (Modules/CLua/pristine.h), as is `restore`.
local P, saved, restore_saved = ...
P._G = P

local D = { P = P }

-- Puts every library table of the real globals back as it was.
function D.restore() restore_saved(saved) end

-- The grading vocabulary (documented in lessons/README.md).
local function tagged(kind)
  return function(t)
    if type(t) ~= "table" then error(kind .. "{...} expects a table", 2) end
    t.__kind = kind
    return t
  end
end
P.lesson = tagged("lesson")
P.question = tagged("question")
P.task = tagged("task")
function P.exact(value, opts)
  return { __answer = "exact", value = value, ignore_case = opts and opts.ignore_case or false }
end
function P.numeric(value, opts)
  if type(value) ~= "number" then error("numeric(value): value must be a number", 2) end
  opts = opts or {}
  return { __answer = "numeric", value = value, tolerance = opts.tolerance or 0, units = opts.units or false }
end
function P.choice(t)
  if type(t) ~= "table" then error("choice{...} expects a table", 2) end
  t.__answer = "choice"
  return t
end
-- The learner's global function `name`, read raw from the real globals
-- (nil if it is not a function): for a task whose `call` drives several
-- of the learner's functions (a driver's probe, syscall and remove).
function P.learner_function(name)
  local f = rawget(_G, name)
  if type(f) == "function" then return f end
  return nil
end
-- `opts.hint` names the hint (a key of the exercise's `hints`) that
-- fits this failure: `fail("why", { hint = "null-check" })`.
function P.pass(feedback) return true, feedback end
function P.fail(feedback, opts) return false, feedback, opts end
function P.partial(points, feedback, opts)
  if math_type(points) ~= "integer" then
    error("partial(points, feedback): points must be an integer, got " .. tostring(points), 2)
  end
  return points, feedback, opts
end

-- Seeds (set by the host before the lesson loads): the learner's variant
-- seed, which decides what the learner sees (question variants, option
-- order), and the grader's secret, mixed into task case generators so
-- that the cases cannot be predicted from what the learner sees. Kept in
-- locals of this chunk: nothing the learner's code can reach.
local VSEED, CSEED = 0, 0
function D.set_seeds(v, c) VSEED, CSEED = v, c end

-- A small deterministic generator (splitmix64): the same seeds give the
-- same numbers on every machine; math.random's state is the learner's.
local function mix(h)
  h = (h ~ (h >> 30)) * 0xbf58476d1ce4e5b9
  h = (h ~ (h >> 27)) * 0x94d049bb133111eb
  return h ~ (h >> 31)
end
local RNG = {}
RNG.__index = RNG
local function new_rng(...)
  local h = 0xcbf29ce484222325
  for i = 1, select("#", ...) do
    local x = select(i, ...)
    if type(x) == "string" then
      for k = 1, #x do h = (h ~ sbyte(x, k)) * 0x100000001b3 end
    else
      h = mix(h ~ (math_type(x) == "integer" and x or 0))
    end
  end
  return setmetatable({ state = h }, RNG)
end
function RNG:next()
  self.state = self.state + 0x9e3779b97f4a7c15
  return mix(self.state)
end
-- rng:int(lo, hi): an integer in [lo, hi]; rng:int(n): in [1, n].
function RNG:int(lo, hi)
  if hi == nil then lo, hi = 1, lo end
  if hi < lo then error("rng:int: empty range", 2) end
  return lo + (self:next() >> 1) % (hi - lo + 1)
end
function RNG:float() return (self:next() >> 11) * (1.0 / 9007199254740992) end
function RNG:pick(t) return t[self:int(1, #t)] end
-- Shuffles the list in place (and returns it).
function RNG:shuffle(t)
  for i = #t, 2, -1 do
    local j = self:int(1, i)
    t[i], t[j] = t[j], t[i]
  end
  return t
end
-- k distinct elements of t, in random order.
function RNG:sample(t, k)
  local copy = {}
  for i = 1, #t do copy[i] = t[i] end
  self:shuffle(copy)
  local out = {}
  for i = 1, k < #copy and k or #copy do out[i] = copy[i] end
  return out
end
-- Lesson files may make their own generators (a per-case machine seed).
P.new_rng = function(...) return new_rng("lesson", ...) end

-- The variant of each exercise (what `variant(rng)` returned), by index.
local VARIANTS = {}
-- Fields that may be functions of the variant.
local VARIANT_FIELDS = { "prompt", "answer", "accept", "feedback", "hints", "template", "explain" }

local function letter_index(k, n)
  if math_type(k) == "integer" and k >= 1 and k <= n then return k end
  if type(k) == "string" and #k == 1 then
    local i = sbyte(k) - 96
    if i >= 1 and i <= n then return i end
    i = sbyte(k) - 64
    if i >= 1 and i <= n then return i end
  end
  return nil
end

-- Shuffles a choice's options; the correct answers, feedback keys and
-- accepted letters follow their options.
local function shuffle_choice(ex, rng)
  local ans = ex.answer
  local n = #ans
  local perm = {}
  for i = 1, n do perm[i] = i end
  rng:shuffle(perm)
  local newpos, old = {}, {}
  for j = 1, n do newpos[perm[j]] = j; old[j] = ans[j] end
  for j = 1, n do ans[j] = old[perm[j]] end
  local function remap(k)
    if math_type(k) == "integer" then
      local i = letter_index(k, n)
      return i and newpos[i] or k
    end
    if type(k) == "string" and #k >= 1 and #k <= n then
      local out = {}
      for c = 1, #k do
        local i = letter_index(ssub(k, c, c), n)
        if i == nil then return k end
        out[#out + 1] = schar(96 + newpos[i])
      end
      sort(out)
      return concat(out)
    end
    return k
  end
  local c = ans.correct
  if type(c) == "table" then
    local out = {}
    for i = 1, #c do out[i] = remap(c[i]) end
    ans.correct = out
  else
    ans.correct = remap(c)
  end
  if type(ex.feedback) == "table" then
    local fb = {}
    for k, v in next, ex.feedback do fb[remap(k)] = v end
    ex.feedback = fb
  end
  if type(ex.accept) == "table" then
    for i = 1, #ex.accept do ex.accept[i] = remap(ex.accept[i]) end
  end
end

-- Resolves every exercise for the learner's seed: `variant(rng)` once,
-- then each field that is a function of the variant, then the option
-- order of choices (seed 0 is the lesson as written).
local function instantiate(lesson)
  local exercises = lesson.exercises
  if type(exercises) ~= "table" then return end
  for i = 1, #exercises do
    local ex = exercises[i]
    if type(ex) == "table" then
      local id = tostring(ex.id)
      local v
      if type(ex.variant) == "function" then
        v = ex.variant(new_rng("variant", VSEED, id))
      elseif type(ex.variant) == "table" then
        v = ex.variant      -- fixed values, the same for every learner
      end
      VARIANTS[i] = v
      for _, field in next, VARIANT_FIELDS do
        if type(ex[field]) == "function" then ex[field] = ex[field](v) end
      end
      local ans = ex.answer
      if VSEED ~= 0 and type(ans) == "table" and ans.__answer == "choice" and not ans.keep_order then
        shuffle_choice(ex, new_rng("order", VSEED, id))
      end
    end
  end
end

-- Copies a value the learner's code produced into plain data: tables are
-- copied raw without their metatables (no __eq/__index/__lt can lie to a
-- check), functions and coroutines are dropped. Bounded in size.
local budget
local function clean(v, depth)
  local tv = type(v)
  if tv == "table" then
    if depth > 16 then return nil end
    local out = {}
    for k, x in next, v do
      budget = budget - 1
      if budget < 0 then break end
      local ck = clean(k, depth + 1)
      if ck ~= nil then out[ck] = clean(x, depth + 1) end
    end
    return out
  elseif tv == "function" or tv == "thread" then
    return nil
  end
  return v
end
function D.clean(...)
  budget = 10000
  local n = select("#", ...)
  local out = { n = n }
  for i = 1, n do out[i] = clean((select(i, ...)), 0) end
  return out
end

function D.load_lesson(source, chunkname)
  -- A precompiled chunk (its _ENV already P) or the lesson's text.
  local chunk, err = source, nil
  if type(source) ~= "function" then chunk, err = load(source, chunkname, "t", P) end
  if not chunk then error(err, 0) end
  local lesson = chunk()
  if type(lesson) ~= "table" or lesson.__kind ~= "lesson" then
    error((chunkname:gsub("^[@=]", "")) .. ": a lesson file must return lesson{...}", 0)
  end
  D.lesson = lesson
  instantiate(lesson)
  return lesson
end

-- How a task's `context` calls the learner's function (f) with its
-- arguments, through the kernel's own mechanisms (the pristine ones).
local CONTEXTS = {}
local GRADER_IRQ = 254
local function via_irq(run)
  local out
  local rc = P.request_irq(GRADER_IRQ, function()
    run(function(r) out = r end)
    return P.IRQ_HANDLED
  end, 0, "kmlab-task", nil)
  if rc ~= 0 then error("grader: request_irq(" .. GRADER_IRQ .. ") returned " .. tostring(rc), 0) end
  P.raise_irq(GRADER_IRQ)
  P.free_irq(GRADER_IRQ, nil)
  return out
end
local function unpacked(out)
  if out == nil then error("grader: the function was not called in its context", 0) end
  return unpack(out, 1, out.n)
end
function CONTEXTS.hardirq(f, ...)
  local args = pack(...)
  return unpacked(via_irq(function(set) set(pack(f(unpack(args, 1, args.n)))) end))
end
function CONTEXTS.softirq(f, ...)
  local args, out = pack(...), nil
  via_irq(function()
    P.tasklet_schedule(function() out = pack(f(unpack(args, 1, args.n))) end)
  end)
  return unpacked(out)
end
function CONTEXTS.kworker(f, ...)
  local args, out = pack(...), nil
  P.schedule_work(function() out = pack(f(unpack(args, 1, args.n))) end)
  P.flush_scheduled_work()
  return unpacked(out)
end
function CONTEXTS.spinlock(f, ...)
  local lock = P.spin_lock_init()
  P.spin_lock(lock)
  local out = pack(f(...))
  P.spin_unlock(lock)
  return unpacked(out)
end
function CONTEXTS.spinlock_irqsave(f, ...)
  local lock = P.spin_lock_init()
  local flags = P.spin_lock_irqsave(lock)
  local out = pack(f(...))
  P.spin_unlock_irqrestore(lock, flags)
  return unpacked(out)
end
function CONTEXTS.syscall(f, ...)
  local out
  P.SYSCALL_DEFINE("kmlab_task", function(...) out = pack(f(...)); return 0 end)
  P.user.syscall("kmlab_task", ...)
  return unpacked(out)
end

-- What Swift calls with the learner's function and the setup's values,
-- under the learner's budgets: the task's `call` wrapper (which may call
-- the function several times), the context's, both, or nil (a plain call).
function D.call_for(index)
  local ex = D.lesson.exercises[index]
  local ctx = CONTEXTS[ex.context or "process"]
  if ctx == nil then return ex.call end
  if ex.call == nil then return ctx end
  local call = ex.call
  return function(f, ...)
    return call(function(...) return ctx(f, ...) end, ...)
  end
end

-- A task's cases: `cases` (a list, or a generator called with an rng
-- seeded by the learner's seed and the grader's secret, and the
-- variant), else one case made of the task's own boot and setup.
local MAX_CASES = 64
local CASES = {}
function D.case_count(index)
  local ex = D.lesson.exercises[index]
  local list = ex.cases
  if type(list) == "function" then
    list = list(new_rng("cases", VSEED, CSEED, tostring(ex.id)), VARIANTS[index])
  end
  if list == nil then
    CASES[index] = { implicit = true, {} }
    return 1
  end
  if type(list) ~= "table" or #list < 1 or #list > MAX_CASES then
    error("task '" .. tostring(ex.id) .. "': cases must be a list of 1 to " .. MAX_CASES .. " tables", 0)
  end
  for k = 1, #list do
    if type(list[k]) ~= "table" then error("task '" .. tostring(ex.id) .. "': case " .. k .. " is not a table", 0) end
  end
  CASES[index] = list
  return #list
end

-- How a case reads in feedback: its `label`, else the call and the machine.
local function show(v)
  if type(v) == "string" then
    if #v > 40 then return sformat("%q", ssub(v, 1, 40)) .. "..." end
    return sformat("%q", v)
  end
  if math_type(v) == "integer" and (v >= 65536 or v < -65536) then return sformat("0x%x", v) end
  if type(v) == "table" then return "{...}" end
  return tostring(v)
end
local function case_label(ex, case, args)
  if case.label ~= nil then return tostring(case.label) end
  local shown = {}
  for i = 1, args.n do shown[i] = show(args[i]) end
  local label = tostring(ex.expects) .. "(" .. concat(shown, ", ") .. ")"
  local b = case.boot
  if type(b) == "table" and next(b) ~= nil then
    local keys = {}
    for k in next, b do keys[#keys + 1] = tostring(k) end
    sort(keys)
    local opts = {}
    for i = 1, #keys do opts[i] = keys[i] .. "=" .. show(b[keys[i]]) end
    label = label .. " on boot{" .. concat(opts, ", ") .. "}"
  end
  return label
end

local trial
-- Boots case k's machine and runs its setup; returns the arguments for
-- the learner's function.
function D.prepare(index, k)
  local ex = D.lesson.exercises[index]
  local cases = CASES[index]
  local case = cases[k]
  local v = VARIANTS[index]
  P.boot(case.boot or ex.boot or {})
  local args = { n = 0 }
  if case.setup then
    args = pack(case.setup(case, v))
  elseif ex.setup then
    args = pack(ex.setup(case, v))
  elseif type(case.args) == "table" then
    args = pack(unpack(case.args, 1, case.args.n or #case.args))
  end
  trial = { args = args, case = case, variant = v }
  if not cases.implicit then trial.label = case_label(ex, case, args) end
  trial.stats_before = P.stats()
  trial.time_before = P.ktime_get_ns()
  return unpack(args, 1, args.n)
end

-- Judges the call. Swift passes the number of reports before the call,
-- the live allocations before and after, whether the call failed (and
-- how), the allocations the call made that are still live and those
-- that were live before and that the call freed, then the learner's results.
function D.judge(index, reports_before, live_before, live_after, failure, allocated, freed, ...)
  local ex = D.lesson.exercises[index]
  local r = trial
  -- The setup's values, as the learner's code left them (it got the same
  -- tables and may have changed them or set metatables): a raw copy.
  r.args = D.clean(unpack(r.args, 1, r.args.n))
  r.results = D.clean(...)
  r.returned = r.results[1]
  r.error = failure
  r.stats_after = P.stats()
  r.time_ns = P.ktime_get_ns() - r.time_before
  r.live_before, r.live_after = live_before, live_after
  r.leaked = live_after - live_before
  r.allocated = allocated or {}
  r.freed_foreign = freed or {}
  r.reports = {}
  local all = P.reports()
  for i = reports_before + 1, #all do
    local rep = all[i]
    r.reports[#r.reports + 1] = { kind = rep.kind, severity = rep.severity, headline = rep.headline, text = rep.text }
  end
  local label = r.label
  r.label = nil
  local verdict, feedback, opts = ex.check(r)
  if feedback ~= nil then feedback = tostring(feedback) end
  local hint = type(opts) == "table" and opts.hint ~= nil and tostring(opts.hint) or nil
  if label ~= nil and verdict ~= true then
    feedback = "with " .. label .. ": " .. (feedback or "not what the task asks for")
  end
  if math_type(verdict) ~= nil then return "points", verdict, feedback, hint end
  return verdict and "pass" or "fail", 0, feedback, hint
end

return D
