import Foundation
import Testing

@Suite struct RunCommandTests {
    @Test func successfulScriptExitsZeroWithItsOutput() throws {
        let dir = try ScratchDirectory()
        let script = try dir.write("ok.lua", "print('hello', ...) print(arg[0] ~= nil, #arg)")
        let r = try KmlabProcess.run(["run", script, "a", "b"])
        #expect(r.status == 0)
        #expect(r.stdout == "hello\ta\tb\ntrue\t2\n")
        #expect(r.stderr == "")
    }

    @Test func luaErrorExitsOneWithFileAndLine() throws {
        let dir = try ScratchDirectory()
        try dir.write("boom.lua", "local x = 1\nerror('boom')\n")
        let r = try KmlabProcess.run(["run", "boom.lua"], currentDirectory: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("kmlab: boom.lua:2: boom\n"))
        #expect(r.stderr.contains("stack traceback:"))
    }

    @Test func missingScriptIsAOneLineUsageError() throws {
        let r = try KmlabProcess.run(["run", "/nonexistent/x.lua"])
        #expect(r.status == 2)
        #expect(r.stderr == "kmlab: cannot open /nonexistent/x.lua: no such file\n")
    }

    @Test func directoryIsAOneLineUsageError() throws {
        let dir = try ScratchDirectory()
        let r = try KmlabProcess.run(["run", dir.url.path])
        #expect(r.status == 2)
        #expect(r.stderr == "kmlab: cannot run \(dir.url.path): it is a directory\n")
    }

    @Test func syntaxErrorIsOneLineNamingTheFile() throws {
        let dir = try ScratchDirectory()
        try dir.write("bad.lua", "x = = 1\n")
        let r = try KmlabProcess.run(["run", "bad.lua"], currentDirectory: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr == "kmlab: bad.lua:1: unexpected symbol near '='\n")
    }

    @Test func badBudgetOptionIsAUsageError() throws {
        let dir = try ScratchDirectory()
        let script = try dir.write("ok.lua", "print(1)")
        let r = try KmlabProcess.run(["run", "--max-memory", "12Q", script])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--max-memory must be a size"))
        #expect(try KmlabProcess.run(["run"]).status == 2)
        #expect(try KmlabProcess.run(["frobnicate"]).status == 2)
    }

    @Test func budgetsStopRunawayScripts() throws {
        let dir = try ScratchDirectory()
        let loop = try dir.write("loop.lua", "while true do pcall(function() while true do end end) end")
        let r = try KmlabProcess.run(["run", "--max-instructions", "1000000", loop])
        #expect(r.status == 1)
        #expect(r.stderr.contains("instruction limit exceeded"))
        let bomb = try dir.write("bomb.lua", "local t = {} while true do t[#t+1] = ('x'):rep(1000) .. #t end")
        let m = try KmlabProcess.run(["run", "--max-memory", "16M", bomb])
        #expect(m.status == 1)
        #expect(m.stderr.contains("memory limit exceeded"))
    }

    /// Large budgets are counted by sampling (LuaLimits.samplingPeriodMicroseconds);
    /// coroutines are hooked from creation, so neither can escape.
    @Test(arguments: [
        "while true do end",
        "local co = coroutine.wrap(function() while true do end end) co()",
        "local co = coroutine.create(function() while true do end end) while true do pcall(coroutine.resume, co) end",
    ])
    func sampledCountingStillStopsRunaways(source: String) throws {
        let dir = try ScratchDirectory()
        try dir.write("loop.lua", source)
        let r = try KmlabProcess.run(["run", "--max-instructions", "100000000", "loop.lua"], currentDirectory: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("instruction limit exceeded"))
    }

    @Test func sandboxIsTheDefaultAndTrustedOpensIO() throws {
        let dir = try ScratchDirectory()
        let script = try dir.write("io.lua", "print(io ~= nil)")
        #expect(try KmlabProcess.run(["run", script]).stdout == "false\n")
        #expect(try KmlabProcess.run(["run", "--trusted", script]).stdout == "true\n")
    }

    /// Errors raised by Swift functions (here `kmalloc` refusing a string size) go
    /// through the C trampoline; 300,000 of them leave the process RSS flat.
    @Test func swiftErrorsInALoopLeaveRSSFlat() throws {
        let dir = try ScratchDirectory()
        try dir.write("rss.lua", """
        local function rss()
          local f = io.open("/proc/self/statm") local s = f:read("a") f:close()
          return tonumber(s:match("^%d+%s+(%d+)")) * 4096
        end
        for i = 1, 50000 do pcall(kmalloc, "x", i) end
        collectgarbage() collectgarbage()
        local before = rss()
        for i = 1, 300000 do pcall(kmalloc, "x", i) end
        collectgarbage() collectgarbage()
        print(rss() - before)
        """)
        let r = try KmlabProcess.run(["run", "--trusted", "rss.lua"], currentDirectory: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let growth = try #require(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(growth < 2 * 1024 * 1024, "RSS grew by \(growth) bytes")
    }

    @Test func versionAndHelp() throws {
        let v = try KmlabProcess.run(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("0."))
        let h = try KmlabProcess.run(["--help"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("run"))
    }
}
