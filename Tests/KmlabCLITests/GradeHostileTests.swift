import Foundation
import Testing

/// `kmlab grade` over a class of hostile submissions mixed with good ones:
/// every hostile one gets a non-pass verdict with a reason, every good one
/// full marks, the batch completes, and nothing is written outside the output.
@Suite(.serialized) struct GradeHostileTests {
    /// name → source. Each tries to break the grader or escape the sandbox.
    static let hostile: [String: String] = [
        "loop.lua": "while true do end",
        "loop-pcall.lua": "while true do pcall(function() while true do end end) end",
        "loop-xpcall.lua": "xpcall(function() while true do end end, function() while true do end end)",
        "mem-table.lua": "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end",
        "mem-string.lua": "local s = 'x' while true do s = s .. s end",
        "mem-rep.lua": "local s = string.rep('x', 1 << 28)",
        "mem-concat.lua": "local t = {} for i = 1, 2000 do t[i] = 'x' end local s = table.concat(t, string.rep('y', 1 << 20))",
        "mem-coroutine.lua": "local cs = {} for i = 1, 1e8 do cs[i] = coroutine.create(function() end) end",
        "recursion.lua": "local function f(n) return 1 + f(n + 1) end f(1)",
        "index-loop.lua": "local t = {} setmetatable(t, { __index = t }) answers = t local x = t.q1",
        "index-function-loop.lua": "local t = setmetatable({}, { __index = function(t, k) return t[k] end }) local x = t.q1",
        "io.lua": "io.open('pwned-io.txt', 'w'):write('x')",
        "os-execute.lua": "os.execute('touch pwned-os.txt')",
        "os-exit.lua": "os.exit(0)",
        "package.lua": "package.loadlib('libc.so.6', 'system')('touch pwned-pkg.txt')",
        "require.lua": "local io = require('io') io.open('pwned-req.txt', 'w')",
        "debug.lua": "debug.sethook(function() end, '', 1)",
        "load-binary.lua": "local f = assert(load('\\27LuaT\\0\\25\\147\\13\\n\\26\\n\\4\\8\\8xV\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0(w@')) f()",
        "dofile.lua": "dofile('/etc/passwd')",
        "tostring-error.lua": "error(setmetatable({}, { __tostring = function() error('no string for you') end }))",
        "garbage-arguments.lua": """
        local skip = { boot = true, panic = true }
        local garbage = { nil, -1, 0, 1.5, math.mininteger, math.maxinteger, 1e308, 0/0, '', 'x', {}, true, print }
        local names = {}
        for k, v in pairs(_G) do if type(v) == 'function' then names[#names + 1] = k end end
        table.sort(names)
        for _, name in ipairs(names) do
          if not skip[name] then
            for i = 1, #garbage do
              pcall(_G[name], garbage[i], garbage[(i % #garbage) + 1], garbage[((i + 5) % #garbage) + 1])
            end
          end
        end
        """,
        "touch-all-memory.lua": """
        while true do
          local p = kmalloc(4 << 20, GFP_KERNEL | __GFP_NOWARN)
          if not p then break end
          poke(p, string.rep('x', 4 << 20))
        end
        """,
        "syntax.lua": "function size_class(n\n  return n\nend",
        "empty.lua": "",
    ]

    @Test func hostileAndGoodSubmissionsAllGetAFairVerdict() throws {
        let scratch = try ScratchDirectory()
        let work = scratch.url.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for (name, source) in Self.hostile { try scratch.write("class/" + name, source) }
        try scratch.write("class/good-1.lua", GradeFixtures.reference)
        try scratch.write("class/nested/good-2.lua", GradeFixtures.reference)
        try Data("answers = {}\0 q1 = 128".utf8).write(to: scratch.url.appendingPathComponent("class/nul-byte.lua"))
        try Data([0x61, 0x3d, 0xff, 0xfe]).write(to: scratch.url.appendingPathComponent("class/not-utf8.lua"))
        try Data(repeating: UInt8(ascii: "-"), count: 10 << 20).write(to: scratch.url.appendingPathComponent("class/ten-megabytes.lua"))
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("class/a-directory.lua"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.url.appendingPathComponent("class/broken-link.lua").path, withDestinationPath: "nowhere.lua")
        let before = GradeFixtures.files(scratch.url)

        let r = try KmlabProcess.run(["grade", "--lesson", "1", "../class", "--format", "json", "--out", "report.json",
                                      "--timeout", "60", "--jobs", "2", "--quiet"] + GradeFixtures.budgets,
                                     currentDirectory: work)
        #expect(r.status == 0, "\(r.stderr)")
        // Nothing written but the report and the results file.
        let after = GradeFixtures.files(scratch.url)
        #expect(Set(after).subtracting(before) == ["work/report.json", "work/kmlab-results.jsonl"], "\(after)")
        #expect(GradeFixtures.lines(work.appendingPathComponent("kmlab-results.jsonl")).count == Self.hostile.count + 7)

        let json = try String(contentsOf: work.appendingPathComponent("report.json"), encoding: .utf8)
        let subs = try GradeFixtures.submissions(json)
        #expect(subs.count == Self.hostile.count + 7)
        for good in ["class/good-1.lua", "class/nested/good-2.lua"] {
            #expect(subs[good]?["score"] as? Int == 12, "\(good): \(subs[good] ?? [:])")
        }
        for name in Self.hostile.keys.sorted() {
            let s = subs["class/" + name]
            let rows = GradeFixtures.exercises(s)
            #expect(rows.count == GradeFixtures.exercises(subs["class/good-1.lua"]).count, "\(name)")
            #expect((s?["score"] as? Int ?? 99) < 12, "\(name) passed: \(s ?? [:])")
            #expect(s?["status"] as? String != "grader-error", "\(name) broke the grader: \(s ?? [:])")
            let failed = rows.filter { $0["status"] as? String != "pass" }
            #expect(!failed.isEmpty && failed.allSatisfy { !($0["feedback"] as? String ?? "").isEmpty }, "\(name): \(rows)")
        }
        func verdicts(_ name: String) -> Set<String> {
            Set(GradeFixtures.exercises(subs["class/" + name]).compactMap { $0["status"] as? String })
        }
        func feedback(_ name: String) -> String {
            GradeFixtures.exercises(subs["class/" + name]).compactMap { $0["feedback"] as? String }.joined(separator: "\n")
        }
        for name in ["loop.lua", "loop-pcall.lua", "loop-xpcall.lua"] { #expect(verdicts(name) == ["timeout"], "\(name)") }
        for name in ["mem-table.lua", "mem-string.lua", "mem-rep.lua", "mem-concat.lua", "mem-coroutine.lua", "touch-all-memory.lua"] {
            #expect(verdicts(name).contains("memory"), "\(name): \(feedback(name))")
        }
        #expect(verdicts("syntax.lua") == ["error"])
        #expect(feedback("syntax.lua").contains("syntax error"))
        #expect(feedback("tostring-error.lua").contains("error"))
        #expect(verdicts("empty.lua") == ["fail"])
        for name in ["io.lua", "os-execute.lua", "os-exit.lua", "package.lua", "require.lua", "debug.lua", "load-binary.lua", "dofile.lua"] {
            #expect(verdicts(name) == ["error"], "\(name): \(feedback(name))")
        }
        let unreadable = ["nul-byte.lua": "NUL byte", "not-utf8.lua": "UTF-8", "ten-megabytes.lua": "too large",
                          "a-directory.lua": "directory", "broken-link.lua": "broken symbolic link"]
        for (name, why) in unreadable {
            #expect(subs["class/" + name]?["status"] as? String == "unreadable", "\(name)")
            #expect(feedback(name).contains(why), "\(name): \(feedback(name))")
        }
    }

    /// A CPU bomb inside one C function (exponential backtracking in
    /// string.find) is beyond the instruction hook: the wall clock stops it,
    /// twice, and the submission keeps the exercises judged before it.
    @Test func aPatternBombIsStoppedByTheWallClock() throws {
        let scratch = try ScratchDirectory()
        let bomb = "string.find(string.rep('a', 40), string.rep('a?', 40) .. string.rep('a', 40))"
        try scratch.write("top.lua", bomb)
        try scratch.write("task.lua", GradeFixtures.reference + "\nfunction make_reply() \(bomb) end\n")
        // The matcher charges its steps to the instruction budget, which
        // would stop this bomb too: a budget it cannot reach in 1.5 s
        // leaves the wall clock as the only stopper, the mechanism tested.
        let r = try KmlabProcess.run(["grade", "--lesson", "1", "top.lua", "task.lua", "--format", "json", "--quiet",
                                      "--timeout", "1.5", "--jobs", "2", "--max-instructions", "1000000000000"],
                                     currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        let subs = try GradeFixtures.submissions(r.stdout)
        let top = GradeFixtures.exercises(subs["top.lua"])
        #expect(!top.isEmpty && top.allSatisfy { $0["status"] as? String == "timeout" }, "\(top)")
        #expect((top.first?["feedback"] as? String ?? "").contains("wall-clock limit of 1.5 s"))
        #expect(subs["top.lua"]?["status"] as? String == "error")
        let task = GradeFixtures.exercises(subs["task.lua"])
        #expect(task.first { $0["id"] as? String == "q1" }?["status"] as? String == "pass", "\(task)")
        #expect(task.filter { $0["status"] as? String == "timeout" }.count >= 1, "\(task)")
    }

    @Test func aWorkerThatCrashesTwiceCostsOnlyItsSubmission() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", GradeFixtures.reference)
        try scratch.write("class/b-crash.lua", GradeFixtures.reference + "\n-- CRASH-THE-WORKER\n")
        try scratch.write("class/c.lua", GradeFixtures.reference)
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_GRADE_TEST_CRASH"] = "CRASH-THE-WORKER"
        let r = try KmlabProcess.run(["grade", "--lesson", "1", "class", "--format", "json", "--quiet", "--jobs", "2"],
                                     currentDirectory: scratch.url, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let subs = try GradeFixtures.submissions(r.stdout)
        #expect(subs["class/a.lua"]?["score"] as? Int == 12)
        #expect(subs["class/c.lua"]?["score"] as? Int == 12)
        #expect(subs["class/b-crash.lua"]?["status"] as? String == "grader-error")
        let feedback = GradeFixtures.exercises(subs["class/b-crash.lua"]).first?["feedback"] as? String ?? ""
        #expect(feedback.contains("crashed (killed by signal 11) twice"), "\(feedback)")
    }

    @Test func usageErrorsExitWithStatus2() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("a.lua", GradeFixtures.reference)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("empty"), withIntermediateDirectories: true)
        let unknown = try KmlabProcess.run(["grade", "--lesson", "no-such-lesson", "a.lua"], currentDirectory: scratch.url)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no lesson"))
        let none = try KmlabProcess.run(["grade", "--lesson", "1", "empty"], currentDirectory: scratch.url)
        #expect(none.status == 2)
        #expect(none.stderr.contains("no submissions"))
        let nothing = try KmlabProcess.run(["grade", "--lesson", "1"], currentDirectory: scratch.url)
        #expect(nothing.status == 2)
        let badShard = try KmlabProcess.run(["grade", "--lesson", "1", "--shard", "3/2", "a.lua"], currentDirectory: scratch.url)
        #expect(badShard.status == 2)
        let badFormat = try KmlabProcess.run(["grade", "--lesson", "1", "--format", "xml", "a.lua"], currentDirectory: scratch.url)
        #expect(badFormat.status == 2)
    }
}
