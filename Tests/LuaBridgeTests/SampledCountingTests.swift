import Testing
@testable import LuaBridge

/// Sampled counting (LuaLimits.samplingPeriodMicroseconds, `kmlab run`'s
/// mode): the main thread runs without a standing count hook, yet every
/// runaway still ends with the budget's own message, and results do not
/// depend on when the timer's windows fall.
@Suite struct SampledCountingTests {
    /// A short period so each runaway meets its budget in a fraction of a second.
    static let sampled = LuaLimits(maxInstructions: 20_000_000, maxMemory: 32 << 20,
                                   samplingPeriodMicroseconds: 1_000)

    @Test(arguments: [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(m) return m end) end",
        "local co = coroutine.wrap(function() while true do end end) while true do pcall(co) end",
        "local function f(n) return n + 1 end local x = 0 while true do x = f(x) end",
        "local t = {} while true do pcall(function() for i = 1, 100 do t[i] = i end end) end",
        "for i = 1, math.huge do pcall(string.gsub, 'aaa', 'a', function() while true do end end) end",
    ])
    func runawaysStillEndWithTheInstructionLimit(source: String) throws {
        let s = try CapturedState(limits: Self.sampled)
        let f = try #require(s.failure(source))
        #expect(f.kind == .instructionLimit, "got \(f.kind): \(f.message)")
        #expect(f.message.contains("instruction limit exceeded"))
    }

    /// No hook is set while the script runs (outside the brief windows):
    /// the first instructions of a chunk run unhooked.
    @Test func theMainThreadStartsWithoutAHook() throws {
        let s = try CapturedState(profile: .trusted, limits: Self.sampled)
        #expect(s.values("return debug.gethook() == nil") == [.boolean(true)])
        let exact = try CapturedState(profile: .trusted, limits: LuaLimits(maxInstructions: 20_000_000, maxMemory: 0))
        #expect(exact.values("return debug.gethook() ~= nil") == [.boolean(true)])
    }

    /// A script well inside its budget runs to the end, and prints what it
    /// prints under exact counting, many times over (windows fall at
    /// different instructions each run).
    @Test func resultsDoNotDependOnTheWindows() throws {
        let source = """
        local t, acc = {}, 0
        for i = 1, 200000 do t[i % 1000 + 1] = (t[i % 1000 + 1] or 0) + i acc = acc + #tostring(i) end
        local keys = {} for k in pairs({a = 1, b = 2, [3] = 3}) do keys[#keys + 1] = tostring(k) end
        print(acc, t[1], t[1000], table.concat(keys, ","))
        """
        let exact = try CapturedState(limits: LuaLimits(maxInstructions: 1_000_000_000, maxMemory: 64 << 20))
        exact.run(source)
        #expect(!exact.text.isEmpty)
        for _ in 0..<5 {
            let s = try CapturedState(limits: LuaLimits(maxInstructions: 1_000_000_000, maxMemory: 64 << 20,
                                                        samplingPeriodMicroseconds: 200))
            if case .failure(let f) = s.run(source) { Issue.record("failed: \(f.message)") }
            #expect(s.text == exact.text)
        }
    }

    /// Ctrl-C is seen by the next window, with no instruction budget at all.
    @Test func interruptIsSeenWithoutABudget() throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 0, maxMemory: 0, samplingPeriodMicroseconds: 1_000))
        var n = 0
        s.lua.register("tick") { call in
            n += 1
            if n == 3 { call.state.requestInterrupt() }
            return 0
        }
        let f = try #require(s.failure("tick() tick() tick() while true do end"))
        #expect(f.kind == .interrupted)
    }

    /// The estimate errs low, never high: a script that runs a known number
    /// of instructions, well under the limit, is never stopped early.
    @Test func aScriptUnderItsBudgetIsNeverStopped() throws {
        for _ in 0..<3 {
            let s = try CapturedState(limits: LuaLimits(maxInstructions: 60_000_000, maxMemory: 0,
                                                        samplingPeriodMicroseconds: 200))
            // About 4 instructions per iteration: some 20 million in all.
            #expect(s.values("local x = 0 for i = 1, 5000000 do x = x + i end return x") == [.integer(12_500_002_500_000)])
        }
    }
}
