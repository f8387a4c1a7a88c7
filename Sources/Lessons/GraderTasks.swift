import CLua
import KernelLua
import KernelSim
import LuaBridge

/// What `boot{}` says when the learner's code calls it during a graded call.
let bootRefusedInTask = "boot{} is not allowed inside a graded task: the grader boots the machine for each case (your function runs on it, and what it leaves there is judged)"

extension Grader {
    /// Runs a task: every case in turn (a fresh machine each, in the same
    /// Lua state), stopping at the first case that does not pass. Its
    /// verdict and feedback (naming the case) are the task's; a task passes
    /// only if every case does. A case scored with `partial` keeps the
    /// lowest score seen, unless a later case fails outright.
    func runTask(_ e: Exercise, index: Int, expects: String, allowed: ReportAllowance,
                 answers: AnswersChunk, state fresh: LessonState? = nil) -> ExerciseResult {
        func result(_ v: Verdict, _ score: Int, _ feedback: String, report: String? = nil) -> ExerciseResult {
            ExerciseResult(id: e.id, status: v, score: score, maxScore: e.points, feedback: Feedback.clip(feedback, 600), report: report)
        }
        let state: LessonState
        do {
            state = try fresh ?? prepareState(answers)
        } catch let failure as LearnerFailure {
            return result(failure.verdict, 0, failure.feedback, report: failure.report)
        } catch {
            return result(.graderError, 0, "\(error)")
        }
        defer { state.lua.close() }
        let lua = state.lua
        let L = lua.L
        lua_settop(L, 0)
        // The learner's function as it is now (a case must not find it
        // replaced by what an earlier case's call did to the global).
        lua.pushGlobal(expects)
        guard lua_type(L, -1) == LUA_TFUNCTION else {
            lua_settop(L, 0)
            return result(.fail, 0, "define the function \(expects) in your answers file (`function \(expects)(...) ... end`)")
        }
        let function = lua.reference(at: -1)
        lua_settop(L, 0)
        // A `call` wrapper, if any, goes below the learner's function.
        lua.resetBudgets()
        state.pushDriverField("call_for")
        lua_pushinteger(L, lua_Integer(index))
        var wrapper: LuaReference?
        if lua.protectedCall(arguments: 1, results: 1) == nil, lua_type(L, -1) == LUA_TFUNCTION {
            wrapper = lua.reference(at: -1)
        }
        lua_settop(L, 0)
        // The cases (trusted).
        lua.resetBudgets()
        state.pushDriverField("case_count")
        lua_pushinteger(L, lua_Integer(index))
        if let f = lua.protectedCall(arguments: 1, results: 1) {
            lua_settop(L, 0)
            return result(.graderError, 0, "the task's cases failed: \(f.message)")
        }
        let cases = lua_type(L, -1) == LUA_TNUMBER ? Int(clamping: kmlab_tointeger(L, -1)) : 1
        lua_settop(L, 0)
        var lowest: ExerciseResult?
        for k in 1...max(cases, 1) {
            let r = runCase(e, index: index, case: k, allowed: allowed, state: state,
                            function: function, wrapper: wrapper)
            if r.status != .pass && r.score == 0 { return r }
            if r.score < (lowest?.score ?? e.points) || lowest == nil { lowest = r }
        }
        return lowest ?? result(.graderError, 0, "the task has no cases")
    }

    /// One case: boot and setup, the learner's call under the budgets with
    /// boot{} refused, the end of the call as a module's init ends, the
    /// reports it raised, then the lesson's check on raw copies.
    func runCase(_ e: Exercise, index: Int, case k: Int, allowed: ReportAllowance, state: LessonState,
                 function: LuaReference, wrapper: LuaReference?) -> ExerciseResult {
        func result(_ v: Verdict, _ score: Int, _ feedback: String, report: String? = nil, hint: String? = nil) -> ExerciseResult {
            ExerciseResult(id: e.id, status: v, score: score, maxScore: e.points, feedback: Feedback.clip(feedback, 600),
                           report: report, hint: hint)
        }
        let lua = state.lua
        let L = lua.L
        lua_settop(L, 0)
        if let wrapper { lua.push(wrapper) }
        lua.push(function)
        // The case's machine and setup (trusted).
        if let f = state.restoreLibraries() {
            lua_settop(L, 0)
            return result(.graderError, 0, "restoring the libraries failed: \(f.message)")
        }
        lua.resetBudgets()
        state.pushDriverField("prepare")
        lua_pushinteger(L, lua_Integer(index))
        lua_pushinteger(L, lua_Integer(k))
        if let f = lua.protectedCall(arguments: 2, results: LUA_MULTRET) {
            lua_settop(L, 0)
            return result(.graderError, 0, "task setup failed: \(f.message)")
        }
        let argumentCount = lua_gettop(L) - 1
        let machine = state.kernel.machine
        // An exact count: the log keeps only some reports in full once there
        // are many (KernelLog), and `reports(since:)` finds those raised after.
        let reportsBefore = machine.log.reportCount
        let before = machine.liveAllocations()
        let lastSequenceBefore = before.last?.sequence ?? 0
        // The learner's call, under the budgets (the task's own, if smaller).
        let taskLimits = e.maxInstructions.map { min($0, limits.maxInstructions) }
        if let n = taskLimits { lua.setLimits(LuaLimits(maxInstructions: n, maxMemory: limits.maxMemory)) }
        state.kernel.bootRefusal = bootRefusedInTask
        defer { state.kernel.bootRefusal = nil }
        lua.resetBudgets()
        var callFailure = lua.protectedCall(arguments: argumentCount, results: LUA_MULTRET)
        // Then the call ends as a module's init does: the debug kernel's
        // checks (preemption or interrupts left off, locks still held) and
        // whatever it deferred (tasklets, work), still on the learner's budget.
        if callFailure == nil {
            do {
                try state.kernel.finishScript()
            } catch let f as LuaFailure {
                callFailure = f
            } catch let oops as KernelOops {
                if taskLimits != nil { lua.setLimits(limits.lua) }
                lua_settop(L, 0)
                return result(.bug, 0, "your code crashed the kernel: \(Feedback.summary(of: oops.report.lines))\(Feedback.explanation(oops.report.kind.rawValue))",
                              report: oops.report.text)
            } catch {
                if taskLimits != nil { lua.setLimits(limits.lua) }
                lua_settop(L, 0)
                return result(.error, 0, "after your function returned: \(error)")
            }
        }
        state.kernel.bootRefusal = nil
        if taskLimits != nil { lua.setLimits(limits.lua) }
        if let f = callFailure {
            lua_settop(L, 0)
            let failure = LearnerFailure(f)
            let kind = failure.report.flatMap { text in machine.log.reports.last { $0.text == text }?.kind.rawValue }
            return result(failure.verdict, 0, failure.feedback + Feedback.explanation(kind ?? ""), report: failure.report)
        }
        let resultCount = lua_gettop(L)
        // boot{} was refused, so `machine` is the machine of the whole call;
        // a log that shrank (cleared) has no new reports.
        let all = machine.log.reports
        let raised = machine.log.reports(since: reportsBefore)
        if let bad = raised.first(where: { !allowed.allows($0.kind.rawValue) }) {
            lua_settop(L, 0)
            return result(.bug, 0, "your code triggered a kernel report: \(Feedback.summary(of: bad.lines))\(Feedback.explanation(bad.kind.rawValue))", report: bad.text)
        }
        let after = machine.liveAllocations()
        // Per allocation, not net: what the call made and left live, and what
        // was live before (the grader's) and the call freed.
        let allocated = after.filter { $0.sequence > lastSequenceBefore }
        let liveSequences = Set(after.map(\.sequence))
        let freed = before.filter { !liveSequences.contains($0.sequence) }
        // The lesson's check (trusted), on a raw copy of the results.
        if let f = state.restoreLibraries() {
            lua_settop(L, 0)
            return result(.graderError, 0, "restoring the libraries failed: \(f.message)")
        }
        lua.resetBudgets()
        state.pushDriverField("judge")
        lua_pushinteger(L, lua_Integer(index))
        // The judge indexes reports() (the kept ones): those before the call.
        lua_pushinteger(L, lua_Integer(all.count - raised.count))
        lua_pushinteger(L, lua_Integer(before.count))
        lua_pushinteger(L, lua_Integer(after.count))
        lua_pushnil(L)
        Self.pushAllocations(allocated, on: L)
        Self.pushAllocations(freed, on: L)
        if resultCount > 0 { lua_rotate(L, 1, 8) }
        if let f = lua.protectedCall(arguments: 7 + resultCount, results: 4) {
            lua_settop(L, 0)
            if f.payload is ReportText {
                return result(.bug, 0, "checking your result triggered a kernel report: \(Feedback.firstLine(f.message))", report: f.message)
            }
            switch f.kind {
            case .instructionLimit: return result(.timeout, 0, "checking your result ran out of time: \(f.message)")
            case .memoryLimit: return result(.memory, 0, "checking your result ran out of memory: \(f.message)")
            default: return result(.graderError, 0, "the lesson's check failed: \(f.message)")
            }
        }
        let verdict = lua.string(at: 1) ?? "fail"
        let points = lua_type(L, 2) == LUA_TNUMBER ? Int(clamping: kmlab_tointeger(L, 2)) : 0
        let feedback = lua.string(at: 3) ?? ""
        let hint = lua_type(L, 4) == LUA_TSTRING ? lua.string(at: 4) : nil
        lua_settop(L, 0)
        switch verdict {
        case "pass": return result(.pass, e.points, feedback)
        case "points":
            // Out of range is the lesson's mistake: clamping would hide it.
            guard (0...e.points).contains(points) else {
                return result(.graderError, 0, "the lesson's check gave \(points) points, outside 0..\(e.points) (partial(points) must be within the exercise's points)")
            }
            return result(points == e.points ? .pass : .fail, points, feedback, hint: hint)
        default:
            return result(.fail, 0, feedback.isEmpty ? "your function's result is not what the task asks for" : feedback, hint: hint)
        }
    }

    /// A list of `{address=, size=, requested=, kind=, cache=}` tables
    /// (at most 256: a check needs the count and a few to name).
    static func pushAllocations(_ list: [LiveAllocation], on L: OpaquePointer) {
        let shown = list.prefix(256)
        lua_createtable(L, Int32(shown.count), 1)
        for (i, a) in shown.enumerated() {
            lua_createtable(L, 0, 5)
            lua_pushinteger(L, lua_Integer(bitPattern: a.address)); lua_setfield(L, -2, "address")
            lua_pushinteger(L, lua_Integer(a.size)); lua_setfield(L, -2, "size")
            lua_pushinteger(L, lua_Integer(a.requestedSize)); lua_setfield(L, -2, "requested")
            lua_pushstring(L, a.kind.rawValue); lua_setfield(L, -2, "kind")
            if let c = a.cache { lua_pushstring(L, c); lua_setfield(L, -2, "cache") }
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        lua_pushinteger(L, lua_Integer(list.count)); lua_setfield(L, -2, "n")
    }
}
