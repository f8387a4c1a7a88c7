/// The trusted Lua side of grading, run in every grading state *before* any
/// learner code, in the real globals.
///
/// It captures a pristine copy of the globals (`P`): every global, and a
/// copy of every library table, taken while nothing untrusted has run. The
/// lesson file runs with `P` as its `_ENV`, so whatever a submission later
/// does to `_G` (redefining `kmalloc`, `print`, `tostring`, metatables on
/// `_G`, editing `string.format`) cannot reach the lesson's setup and check
/// functions. `restore()` puts the library tables back (a string method call
/// such as `s:rep(2)` goes through the one string metatable, which a
/// submission cannot replace but could edit the table behind).
///
/// The chunk returns the driver table `D`; Swift keeps it in the registry.
enum GradingDriver {
    /// `source` as bytes, made once (every grading state loads the driver).
    static let bytes = Array(source.utf8)

    static let source = #"""
    local _G, next, type, rawget, rawset, load, error, select, tostring, math_type =
      _G, next, type, rawget, rawset, load, error, select, tostring, math.type
    local pack, unpack = table.pack, table.unpack

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
    function P.pass(feedback) return true, feedback end
    function P.fail(feedback) return false, feedback end
    function P.partial(points, feedback)
      if math_type(points) ~= "integer" then
        error("partial(points, feedback): points must be an integer, got " .. tostring(points), 2)
      end
      return points, feedback
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
      end, 0, "kmlab-grader", nil)
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

    local trial
    -- Boots the task's machine and runs its setup; returns the arguments for
    -- the learner's function.
    function D.prepare(index)
      local ex = D.lesson.exercises[index]
      P.boot(ex.boot or {})
      local args = { n = 0 }
      if ex.setup then args = pack(ex.setup()) end
      trial = { args = args }
      trial.stats_before = P.stats()
      trial.time_before = P.ktime_get_ns()
      return unpack(args, 1, args.n)
    end

    -- Judges the call. Swift passes the number of reports before the call,
    -- the live allocations before and after, whether the call failed (and
    -- how), then the learner's results.
    function D.judge(index, reports_before, live_before, live_after, failure, ...)
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
      r.reports = {}
      local all = P.reports()
      for i = reports_before + 1, #all do
        local rep = all[i]
        r.reports[#r.reports + 1] = { kind = rep.kind, severity = rep.severity, headline = rep.headline, text = rep.text }
      end
      local verdict, feedback = ex.check(r)
      if feedback ~= nil then feedback = tostring(feedback) end
      if math_type(verdict) ~= nil then return "points", verdict, feedback end
      return verdict and "pass" or "fail", 0, feedback
    end

    return D
    """#
}
