import Testing
@testable import Lessons

/// A task's `context` calls the learner's function where the lesson says.
@Suite struct TaskContextTests {
    /// The grading driver calls the learner's function in every context the
    /// parser accepts (a plain call for `process`), and in no other.
    @Test func theDriverImplementsExactlyTheParsersContexts() {
        let source = GradingDriver.source
        var implemented: Set<String> = []
        var rest = Substring(source)
        while let r = rest.range(of: "function CONTEXTS.") {
            rest = rest[r.upperBound...]
            implemented.insert(String(rest.prefix { $0.isLetter || $0 == "_" }))
        }
        #expect(implemented == Set(TaskContext.allCases.filter { $0 != .process }.map(\.rawValue)))
    }

    static let contexts = TaskContext.supported

    static let lessonSource = """
    local want = {
      process = { false, false, true, false, false, "insmod" },
      hardirq = { true, false, false, true, true, "insmod" },
      softirq = { false, true, false, true, false, "insmod" },
      kworker = { false, false, true, false, false, "kworker/0:1" },
      spinlock = { false, false, true, true, false, "insmod" },
      spinlock_irqsave = { false, false, true, true, true, "insmod" },
      syscall = { false, false, true, false, false, "a.out" },
    }
    local exercises = {}
    for _, ctx in ipairs{ \(contexts.map { "\"\($0)\"" }.joined(separator: ", ")) } do
      exercises[#exercises + 1] = task{ id = ctx, points = 1, expects = "probe", context = ctx, prompt = "p", hints = { "h" },
        setup = function() return 7, 8 end,
        check = function(r)
          local got = r.returned
          if type(got) ~= "table" then return fail("no table") end
          if got[7] ~= 7 or got[8] ~= 8 then return fail("arguments lost") end
          for i = 1, 6 do
            if got[i] ~= want[ctx][i] then return fail(ctx .. ": field " .. i .. " is " .. tostring(got[i])) end
          end
          return pass()
        end }
    end
    exercises[#exercises + 1] = task{ id = "wrapped", points = 1, expects = "probe", context = "hardirq", prompt = "p", hints = { "h" },
      call = function(f) return f(1, 2), f(3, 4) end,
      check = function(r) return r.results[1][1] == true and r.results[2][8] == 4 end }
    return lesson{ id = "01-contexts", title = "t", text = "x", exercises = exercises }
    """

    static let probe = """
    function probe(a, b)
      return { in_irq(), in_softirq(), in_task(), in_atomic(), irqs_disabled(), current.comm, a, b }
    end
    """

    func lesson() throws -> Lesson {
        try LessonCatalog(files: [("01-contexts.lua", Array(Self.lessonSource.utf8))], origin: "test", exerciseCount: 1...10).lesson(id: "1")
    }

    @Test func theFunctionRunsInTheNamedContext() throws {
        let r = Grader(lesson: try lesson()).grade(source: Array(Self.probe.utf8), submissionID: "a.lua")
        for e in r.exercises { #expect(e.status == .pass, "\(e.id): \(e.feedback)") }
    }

    @Test func sleepingInAnInterruptHandlerIsABug() throws {
        let r = Grader(lesson: try lesson()).grade(source: Array("""
        function probe() local p = kmalloc(100, GFP_KERNEL); kfree(p); return {} end
        """.utf8), submissionID: "a.lua")
        let hard = try #require(r.exercises.first { $0.id == "hardirq" })
        #expect(hard.status == .bug)
        #expect(hard.feedback.contains("BUG: sleeping function called from invalid context"))
        #expect(r.exercises.first { $0.id == "process" }?.status == .fail)
        #expect(r.exercises.first { $0.id == "kworker" }?.status == .fail)
    }

    @Test func setupTablesReachTheCheckAsRawCopies() throws {
        let source = """
        return lesson{ id = "01-args", title = "t", text = "x", exercises = {
          task{ id = "t", points = 1, expects = "f", prompt = "p", hints = { "h" },
            setup = function() return { count = 0 } end,
            check = function(r) return rawget(r.args[1], "count") == 1 and getmetatable(r.args[1]) == nil and r.args[1].count == 1 end } } }
        """
        let lesson = try LessonCatalog(files: [("01-args.lua", Array(source.utf8))], origin: "t", exerciseCount: 1...10).lesson(id: "1")
        let honest = Grader(lesson: lesson).grade(source: Array("function f(t) t.count = t.count + 1 end".utf8), submissionID: "a")
        #expect(honest.score == 1, "\(honest.json)")
        let liar = Grader(lesson: lesson).grade(source: Array("""
        function f(t) setmetatable(t, { __index = function() return 1 end }) end
        """.utf8), submissionID: "a")
        #expect(liar.score == 0, "\(liar.json)")
    }

    @Test func errorsInsideAContextAreTheLearnersErrors() throws {
        let r = Grader(lesson: try lesson()).grade(source: Array("function probe() error('mine') end".utf8), submissionID: "a.lua")
        for e in r.exercises {
            #expect(e.status == .error, "\(e.id): \(e.status)")
            #expect(e.feedback.contains("a.lua:1: mine"), "\(e.id): \(e.feedback)")
        }
        let loop = Grader(lesson: try lesson(), limits: GradingLimits(maxInstructions: 1_000_000, maxMemory: 32 << 20))
            .grade(source: Array("function probe() while true do end end".utf8), submissionID: "a.lua")
        for e in loop.exercises { #expect(e.status == .timeout, "\(e.id): \(e.status) \(e.feedback)") }
    }
}
