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
    static let source = #"""
    local _G, next, type, rawget, rawset, load, error, select, tostring, math_type =
      _G, next, type, rawget, rawset, load, error, select, tostring, math.type
    local pack, unpack = table.pack, table.unpack

    local P, saved = {}, {}
    for k, v in next, _G do P[k] = v end
    for k, v in next, _G do
      if type(v) == "table" and k ~= "_G" then
        local copy, orig = {}, {}
        for kk, vv in next, v do copy[kk] = vv; orig[kk] = vv end
        P[k] = copy
        saved[#saved + 1] = { v, orig }
      end
    end
    P._G = P

    local D = { P = P }

    -- Puts every library table of the real globals back as it was.
    function D.restore()
      for i = 1, #saved do
        local t, orig = saved[i][1], saved[i][2]
        local extra = {}
        for k in next, t do if rawget(orig, k) == nil then extra[#extra + 1] = k end end
        for j = 1, #extra do rawset(t, extra[j], nil) end
        for k, v in next, orig do rawset(t, k, v) end
      end
    end

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
    function P.partial(points, feedback) return points, feedback end

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
      local chunk, err = load(source, chunkname, "t", P)
      if not chunk then error(err, 0) end
      local lesson = chunk()
      if type(lesson) ~= "table" or lesson.__kind ~= "lesson" then
        error((chunkname:gsub("^[@=]", "")) .. ": a lesson file must return lesson{...}", 0)
      end
      D.lesson = lesson
      return lesson
    end

    -- The task's `call` wrapper, if it has one: it receives the learner's
    -- function and the setup's values and calls the function itself (several
    -- times, say), under the learner's budgets.
    function D.call_for(index)
      return D.lesson.exercises[index].call
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
