import Foundation
import Testing

/// Code cannot branch on being graded: what a learner's function can read
/// when it starts (simulated time, counters, allocation addresses, the
/// kernel log, the current task, its globals, object numbers, the random
/// sequence) is the same in a graded call as in `kmlab run` of the same
/// answers file calling it on the same machine.
@Suite struct GradedLooksLikeRunTests {
    /// A lesson whose one task fails with the learner's result as its
    /// feedback, so the graded observations come back in the report.
    static let lesson = """
    return lesson{ id = "01-observe", title = "t", text = "x", exercises = {
      task{ id = "t", points = 1, expects = "observe", template = "",
            check = function(r) return fail("seen: " .. tostring(r.returned)) end, hints = { "h" } },
      question{ id = "q1", points = 1, prompt = "p", answer = 1, hints = { "h" } },
      question{ id = "q2", points = 1, prompt = "p", answer = 2, hints = { "h" } },
    }}
    """

    /// Reads what a function can read at its start (and after a few
    /// allocations); compact, so the report does not clip it.
    static let answers = """
    answers = answers or {}
    local top_level = ktime_get_ns()
    function observe()
      local s = stats()
      local start = string.format("t%d %s/%s k%d p%d v%d c%s log%d irq%d", ktime_get_ns(), current.comm, tostring(current.pid),
        s.kmallocs, s.page_allocs, s.vmallocs, tostring(s.cycles), #dmesg(), #proc("/proc/interrupts"))
      local globals = 0
      for _ in pairs(_G) do globals = globals + 1 end
      local lua = string.format("g%d %s %s r%d a%s", globals, tostring({}), tostring(function() end), math.random(1, 1 << 30), tostring(arg and arg[0]))
      local p, v, pg = kmalloc(100, GFP_KERNEL), vmalloc(3 * PAGE_SIZE), __get_free_pages(GFP_KERNEL, 1)
      local mem = string.format("%x %x %x t%d b%d", p, v, pg, ktime_get_ns(), #proc("/proc/buddyinfo"))
      kfree(p) vfree(v) free_pages(pg, 1)
      return start .. " | " .. lua .. " | " .. mem .. " | top" .. top_level
    end
    """

    @Test func aGradedCallSeesWhatARunSees() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("lessons/01-observe.lua", Self.lesson)
        try scratch.write("answers.lua", Self.answers)
        try scratch.write("run.lua", Self.answers + "\nboot{}\nprint(\"seen: \" .. observe())\n")
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_LESSONS"] = scratch.url.appendingPathComponent("lessons").path
        env["XDG_STATE_HOME"] = scratch.url.appendingPathComponent("state").path
        let graded = try KmlabProcess.run(["grade", "--lesson", "1", "answers.lua", "--format", "json", "--quiet", "--jobs", "1"],
                                          currentDirectory: scratch.url, environment: env)
        #expect(graded.status == 0, "\(graded.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(graded.stdout.utf8)) as? [String: Any])
        let exercises = (report["submissions"] as? [[String: Any]])?.first?["exercises"] as? [[String: Any]] ?? []
        let seenGraded = try #require(exercises.first { $0["id"] as? String == "t" }?["feedback"] as? String)
        // The run's arg[0] is the same path, given the same way.
        var run = try KmlabProcess.run(["run", "run.lua"], currentDirectory: scratch.url, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        run.stdout = run.stdout.replacingOccurrences(of: "arun.lua", with: "aanswers.lua")
        let seenRun = run.stdout.split(separator: "\n").first { $0.hasPrefix("seen: ") }.map(String.init)
        #expect(seenGraded.hasPrefix("seen: t"), "\(seenGraded)")
        #expect(seenGraded == seenRun, "graded: \(seenGraded)\nrun:    \(seenRun ?? run.stdout)")
    }
}
