import Testing
@testable import Lessons

/// Submissions that try to fool or break the grader get a non-pass verdict
/// on every exercise they did not honestly solve, and never crash it.
@Suite struct HostileAnswerTests {
    /// The honest lesson 1 solution, for tests that sabotage one part of it.
    static let honest = """
    answers = answers or {}
    answers.q1 = 47
    answers.q2 = "b"
    function size_class(n) local p = kmalloc(n, GFP_KERNEL); local s = ksize(p); kfree(p); return s end
    function kstrdup(s) local p = kmalloc(#s + 1, GFP_KERNEL | __GFP_NOWARN); if not p then return nil end; poke(p, s .. "\\0"); return p end
    function alloc_array(n, size) local p = kcalloc(n, size, GFP_KERNEL | __GFP_NOWARN); if not p then return nil end; poke(p, string.pack("<I4", n)); return p end
    function make_reply() local p = kzalloc(64, GFP_KERNEL); poke(p, "hello"); return p end
    """

    static let small = GradingLimits(maxInstructions: 2_000_000, maxMemory: 32 << 20)

    func grade(_ source: String, limits: GradingLimits = small) throws -> SubmissionResult {
        try LessonFixtures.grade(source, lesson: "1", limits: limits)
    }

    func status(_ r: SubmissionResult, _ id: String) -> Verdict? { r.exercises.first { $0.id == id }?.status }

    @Test func honestSolutionPassesUnderTheSmallBudget() throws {
        let r = try grade(Self.honest)
        #expect(r.score == r.maxScore, "\(r.json)")
    }

    @Test func liesThroughMetamethodsOnAnswersAndGlobalsDoNotPass() throws {
        let r = try grade("""
        local anything = setmetatable({}, {
          __eq = function() return true end, __lt = function() return true end,
          __le = function() return true end, __index = function() return 128 end,
          __tostring = function() return "128" end, __len = function() return 128 end })
        answers = setmetatable({}, { __index = function() return anything end })
        setmetatable(_G, { __index = function(_, k) return function() return anything end end })
        function size_class() return anything end
        function kstrdup() return anything end
        function make_reply() return anything end
        """)
        #expect(r.score == 0, "\(r.json)")
        #expect(r.exercises.allSatisfy { $0.status != .pass })
    }

    @Test func redefiningTheKernelApiAndLibrariesCannotFoolTheChecks() throws {
        // The submission fakes peek/ksize/tostring/string functions so that a
        // check using them naively would be fooled; make_reply uses kmalloc.
        let r = try grade(Self.honest.replacingOccurrences(of: "kzalloc(64, GFP_KERNEL)", with: "kmalloc(64, GFP_KERNEL)") + """

        peek = function(a, n) return "hello" .. string.rep("\\0", (n or 1) - 5) end
        ksize = function() return 256 end
        tostring = function() return "256" end
        print = function() end
        string.rep = function() return "hello" end
        string.sub = function() return "hello" end
        string.find = function() return nil end
        """)
        #expect(status(r, "no_leak") == .fail, "\(r.json)")
        #expect(r.exercises.first { $0.id == "no_leak" }?.feedback.contains("kzalloc") == true)
    }

    @Test func clobberedGlobalsDoNotReachTheChecksAfterBoot() throws {
        // Globals with kernel names set to numbers, before the task's boot{}.
        let r = try grade(Self.honest + """

        kmalloc_ = kmalloc
        peek, virt_to_page, is_vmalloc_addr, boot, PAGE_SIZE = 0, 0, 0, 0, 1
        function make_reply() local p = kzalloc(64, GFP_KERNEL); poke(p, "hello"); return p end
        """)
        #expect(r.score == r.maxScore, "\(r.json)")
    }

    @Test func sabotagedBaseFunctionsDoNotBreakTheChecks() throws {
        // An honest solution that also vandalises what checks use.
        let r = try grade(Self.honest + """

        local real_pack = string.pack
        function alloc_array(n, size) local p = kcalloc(n, size, GFP_KERNEL | __GFP_NOWARN); if not p then return nil end; poke(p, real_pack("<I4", n)); return p end
        next, type, rawget, pairs, ipairs, tostring, pcall, error, select = nil, nil, nil, nil, nil, nil, nil, nil, nil
        math.type = function() return "integer" end
        string.sub, string.rep, string.pack, string.find = nil, nil, nil, nil
        setmetatable(string, { __index = function() return function() return "hello" end end })
        """)
        #expect(r.score == r.maxScore, "\(r.json)")
    }

    @Test func coroutinesAndDeepRecursionStayWithinBudgets() throws {
        let r = try grade(Self.honest + """

        function make_reply()
          local co = coroutine.wrap(function() while true do coroutine.yield() end end)
          while true do co() end
        end
        function size_class(n) return size_class(n) + 1 end
        """)
        #expect(status(r, "no_leak") == .timeout, "\(r.json)")
        // Lua's stack grows until the memory budget or its own limit stops it.
        #expect(status(r, "size_class") == .memory || status(r, "size_class") == .error, "\(r.json)")
    }

    @Test func garbageArgumentsToTheKernelAreErrorsNotCrashes() throws {
        let r = try grade(Self.honest + """

        function make_reply()
          for _, f in ipairs{kmalloc, kfree, ksize, vmalloc, peek, poke, memset, virt_to_page, __pa, alloc_pages} do
            for _, a in ipairs{-1, 0, 2^63, math.mininteger, "x", {}, true, 1e308} do pcall(f, a, a, a) end
          end
          return 0
        end
        """)
        #expect(status(r, "no_leak") != .pass, "\(r.json)")
        #expect(r.exercises.filter { $0.status == .pass }.count == 5)
    }

    @Test func bootingAtTopLevelIsHarmless() throws {
        let r = try grade(Self.honest + """

        coroutine.wrap(function() boot{arch = "x86_64"} end)()
        boot{era = "2.6"}
        """)
        #expect(r.score == r.maxScore, "\(r.json)")
    }

    /// A call that boots would leave its reports and leaks on a machine the
    /// grader no longer looks at: refused, from a coroutine or a pcall too.
    @Test func bootingInsideATaskIsRefusedWithAClearError() throws {
        for body in ["coroutine.wrap(function() boot{} end)()", "boot{}", "local b = boot; b{arch = 'x86_64'}"] {
            let r = try grade(Self.honest + """

            function make_reply()
              local p = kmalloc(64, GFP_KERNEL); kfree(p); kfree(p)
              \(body)
              local q = kzalloc(64, GFP_KERNEL); poke(q, "hello"); return q
            end
            """)
            #expect(status(r, "no_leak") == .error, "\(r.json)")
            #expect(r.exercises.last?.feedback.contains("boot{} is not allowed inside a graded task") == true, "\(r.json)")
        }
        let swallowed = try grade(Self.honest + """

        function make_reply()
          local p = kmalloc(64, GFP_KERNEL); kfree(p); kfree(p)
          pcall(boot, {})
          local q = kzalloc(64, GFP_KERNEL); poke(q, "hello"); return q
        end
        """)
        // The double free stays on the graded machine.
        #expect(status(swallowed, "no_leak") == .bug, "\(swallowed.json)")
    }

    @Test func hugeAnswerTablesAreNotCopied() throws {
        let r = try grade("answers.q1 = {} for i = 1, 200000 do answers.q1[i] = i end answers.q2 = {'b'}",
                          limits: GradingLimits(maxInstructions: 50_000_000, maxMemory: 32 << 20))
        #expect(status(r, "q1") == .fail)
        #expect(r.exercises.first { $0.id == "q1" }?.feedback == "not the expected answer (you gave a large table)")
        #expect(status(r, "q2") == .pass, "\(r.json)")
    }

    @Test func whatTheCallLeavesBehindIsJudgedToo() throws {
        // Interrupts left off, and deferred work that fails or loops.
        let irqsOff = try grade(Self.honest + "\nfunction make_reply() local_irq_disable(); local p = kzalloc(64, GFP_ATOMIC); poke(p, 'hello'); return p end")
        #expect(status(irqsOff, "no_leak") == .bug, "\(irqsOff.json)")
        #expect(irqsOff.exercises.first { $0.id == "no_leak" }?.feedback.contains("returned with disabled interrupts") == true)
        let work = try grade(Self.honest + "\nfunction make_reply() schedule_work(function() error('late') end); local p = kzalloc(64, GFP_KERNEL); poke(p, 'hello'); return p end")
        #expect(status(work, "no_leak") == .error, "\(work.json)")
        #expect(work.exercises.first { $0.id == "no_leak" }?.feedback.contains("late") == true)
        let loop = try grade(Self.honest + "\nfunction make_reply() schedule_work(function() while true do end end); local p = kzalloc(64, GFP_KERNEL); poke(p, 'hello'); return p end")
        #expect(status(loop, "no_leak") == .timeout, "\(loop.json)")
    }

    @Test func endlessLoopsTimeOutEvenInsidePcall() throws {
        let r = try grade(Self.honest + """

        function make_reply() while true do pcall(function() while true do end end) end end
        """)
        #expect(status(r, "no_leak") == .timeout, "\(r.json)")
        #expect(status(r, "q1") == .pass)
        let top = try grade("while true do end")
        #expect(top.status == .error)
        #expect(top.exercises.allSatisfy { $0.status == .timeout })
    }

    @Test func memoryBombsGetTheMemoryVerdict() throws {
        let r = try grade(Self.honest + """

        function make_reply() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end end
        """, limits: GradingLimits(maxInstructions: 200_000_000, maxMemory: 32 << 20))
        #expect(status(r, "no_leak") == .memory, "\(r.json)")
        let top = try grade("local s = 'x' while true do s = s .. s end", limits: GradingLimits(maxInstructions: 200_000_000, maxMemory: 32 << 20))
        #expect(top.exercises.allSatisfy { $0.status == .memory }, "\(top.json)")
    }

    @Test func syntaxErrorsAndRuntimeErrorsNameTheLine() throws {
        let syntax = try grade("answers.q1 = = 3")
        #expect(syntax.status == .error)
        #expect(syntax.exercises.allSatisfy { $0.status == .error && $0.feedback.contains("answers.lua:1:") })
        let runtime = try grade(Self.honest + "\nfunction make_reply() local x = nil; return x.y end")
        #expect(status(runtime, "no_leak") == .error)
        #expect(runtime.exercises.first { $0.id == "no_leak" }?.feedback.contains("answers.lua:8:") == true, "\(runtime.json)")
    }

    @Test func errorObjectsWithLyingTostringAreHandled() throws {
        let r = try grade(Self.honest + """

        function make_reply() error(setmetatable({}, { __tostring = function() error("no") end })) end
        """)
        #expect(status(r, "no_leak") == .error, "\(r.json)")
    }

    @Test func aKernelOopsIsABugVerdictWithTheReport() throws {
        let r = try grade(Self.honest + "\nfunction make_reply() poke(0, 'x') end")
        let e = try #require(r.exercises.first { $0.id == "no_leak" })
        #expect(e.status == .bug)
        #expect(e.feedback.contains("BUG: kernel NULL pointer dereference"))
        #expect(e.report?.contains("Oops") == true)
    }

    @Test func aDoubleFreeIsReportedAsABug() throws {
        let r = try grade(Self.honest + "\nfunction size_class(n) local p = kmalloc(n, GFP_KERNEL); local s = ksize(p); kfree(p); kfree(p); return s end")
        #expect(status(r, "size_class") == .bug, "\(r.json)")
    }

    @Test func missingFunctionsAndAnswersFailWithGuidance() throws {
        let r = try grade("")
        #expect(r.status == .graded)
        #expect(r.score == 0)
        #expect(r.exercises.first { $0.id == "q1" }?.feedback == "no answer: set answers.q1")
        #expect(r.exercises.first { $0.id == "no_leak" }?.feedback.contains("define the function make_reply") == true)
        let typo = try grade("answers.Q1 = 128")
        #expect(typo.exercises.first { $0.id == "q1" }?.feedback == "no answer: set answers.q1 (your answers table has answers.Q1, which no exercise uses)")
        let unclear = try grade("answers.q2 = 'a pointer'")
        #expect(unclear.exercises.first { $0.id == "q2" }?.feedback == "answer with the letter of one option (a, b, c or d); you gave \"a pointer\"")
        #expect(try grade("answers.q2 = 'NULL'").exercises.first { $0.id == "q2" }?.status == .pass)
        let notTable = try grade("answers = 5")
        #expect(notTable.exercises.first { $0.id == "q1" }?.feedback.contains("answers is not a table") == true)
    }

    @Test func sandboxEscapesAreErrors() throws {
        for attempt in ["os.exit(0)", "io.open('/etc/passwd')", "require('os')", "dofile('/etc/passwd')",
                        "load(string.dump(function() end))()", "debug.sethook()", "package.loadlib('x', 'y')"] {
            let r = try grade(attempt)
            #expect(r.status == .error, "\(attempt): \(r.json)")
            #expect(r.score == 0)
        }
    }

    @Test func resultsKeepTheSchemaKeyOrder() throws {
        let r = try grade(#"answers.q1 = '"quoted"\n'"#)
        #expect(r.json.hasPrefix(#"{"id":"answers.lua","score":0,"max_score":12,"status":"graded","exercises":[{"id":"q1","status":"fail","score":0,"max_score":2,"feedback":"#))
        #expect(r.json.contains(#"(you gave \"\"quoted\"\n\")"#), "\(r.json)")
    }
}

/// The grader's own files, lines and exercise ids stay out of everything the
/// learner's code can observe, so it cannot tell which exercise is running.
@Suite struct GraderInvisibilityTests {
    /// Collects what `error` levels, runtime errors and the kernel log show
    /// from inside a graded call; answers wrongly if any of it names the
    /// grader, the lesson or an exercise.
    static let detector = """
    local function seen()
      local out = {}
      for level = 1, 12 do
        local _, m = pcall(error, "?", level)
        out[#out + 1] = tostring(m)
      end
      local _, m = pcall(function() local t = nil; return t.x end)
      out[#out + 1] = tostring(m)
      out[#out + 1] = dmesg()
      return table.concat(out, "\\n")
    end
    local function graded(text)
      -- What names the learner's own file is theirs to see.
      text = text:gsub("answers%.lua:%d+", "")
      for _, word in ipairs{ "first-allocations", "lesson", "grader", "kmlab.", "no_leak", "null_check", ".lua:" } do
        if text:find(word, 1, true) then return word end
      end
      -- A line of the lesson file, seen through an error level.
      for line in text:gmatch(":(%d+):") do return "line " .. line end
      return nil
    end
    leaks = {}
    function size_class(n)
      local word = graded(seen())
      if word then leaks[#leaks + 1] = word; return -1 end
      local p = kmalloc(n, GFP_KERNEL); local s = ksize(p); kfree(p); return s
    end
    function alloc_array(n, size)
      kmalloc(1 << 30, GFP_KERNEL)   -- a WARN with a Call Trace in dmesg (allowed in this task)
      if graded(seen()) then return nil end
      local p = kcalloc(n, size, GFP_KERNEL | __GFP_NOWARN)
      if not p then return nil end
      poke(p, string.pack("<I4", n))
      return p
    end
    """

    @Test func errorLevelsMessagesAndCallTracesNameNoGraderFrame() throws {
        let r = try LessonFixtures.grade(Self.detector, lesson: "1")
        let size = r.exercises.first { $0.id == "size_class" }
        #expect(size?.status == .pass, "\(r.json)")
        let array = r.exercises.first { $0.id == "null_check" }
        #expect(array?.status == .pass, "\(r.json)")
    }
}
