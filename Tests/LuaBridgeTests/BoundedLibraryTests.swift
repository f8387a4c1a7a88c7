import CLua
import Testing
@testable import LuaBridge
import SeededRandom

/// Library calls that used to do unbounded host work in one C call now
/// charge the instruction budget as they go (Modules/CLua/bounded.h,
/// patterns.h): each of these ends with the instruction limit, not a hang.
@Suite struct BoundedLibraryTests {
    static let budget = LuaLimits(maxInstructions: 2_000_000, maxMemory: 64 << 20)

    @Test(arguments: [
        // Backtracking bombs in every pattern function.
        "string.find(string.rep('a', 30000), '.-.-.-.-b')",
        "string.match(string.rep('a', 30000), '(.-)(.-)(.-)%1b')",
        "for x in string.gmatch(string.rep('a', 30000), '.-.-.-b') do end",
        "string.gsub(string.rep('a', 30000), '.-.-.-b', '')",
        "string.find(string.rep('(', 30000), '%b()%b()%b()x')",
        "string.find(string.rep('a', 2000000), string.rep('a', 1000000) .. 'b', 1, true)",
        // Results of nothing, computed forever.
        "table.move({}, 1, math.maxinteger - 1, 2)",
        "table.move({}, -10, math.maxinteger - 20, 1, {})",
        "table.concat(setmetatable({}, {__index = table.concat}), '', 1, 1e15)",
        "table.insert(setmetatable({}, {__len = function() return 2^62 end}), 1, 1)",
        "table.remove(setmetatable({}, {__len = function() return 2^62 end}), 1)",
        "table.sort(setmetatable({}, {__len = function() return 2^30 end, __index = table.concat}))",
        // pcall cannot swallow the budget inside such a call.
        "while true do pcall(string.rep, 'x', 1 << 20) end",
        "while true do pcall(string.find, string.rep('a', 3000), '.-.-b') end",
    ])
    func unboundedLibraryCallsMeetTheInstructionBudget(source: String) throws {
        let s = try CapturedState(limits: Self.budget)
        let f = try #require(s.failure(source))
        #expect(f.kind == .instructionLimit, "got \(f.kind): \(f.message)")
    }

    /// An empty result is known without repeating anything.
    @Test func emptyRepetitionsAreImmediate() throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 1000, maxMemory: 32 << 20))
        let v = s.values("return #string.rep('', math.maxinteger), #string.rep('', math.maxinteger, '')")
        #expect(v == [.integer(0), .integer(0)])
    }

    @Test func stringRepRefusesWhatTheMemoryBudgetCannotHold() throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 0, maxMemory: 32 << 20))
        let f = try #require(s.failure("return string.rep('x', 1 << 30)"))
        #expect(f.kind == .memoryLimit, "got \(f.kind): \(f.message)")
        #expect(s.lua.memoryPeak < 40 << 20)
    }

    @Test func boundedFunctionsStillWork() throws {
        let s = try CapturedState(limits: Self.budget)
        let v = s.values("""
        local t = {1, 2, 3}
        table.insert(t, 4); table.insert(t, 1, 0)
        local r = table.remove(t, 1)
        table.move(t, 1, 4, 2)
        table.sort(t, function(a, b) return a > b end)
        return table.concat(t, ","), r, ("ab"):rep(3, "-"), select(2, ("hello world"):gsub("o", "0")),
          ("key=val"):match("(%w+)=(%w+)"), load("return 6 * 7")()
        """)
        #expect(v == [.string("4,3,2,1,1"), .integer(0), .string("ab-ab-ab"), .integer(2),
                      .string("key"), .integer(42)])
    }

    /// Errors raised by an original called from its wrapper name the
    /// function and the script's line, as Lua's own do.
    @Test func wrappedFunctionsReportErrorsAsLuaDoes() throws {
        let s = try CapturedState(limits: Self.budget)
        #expect(s.failure("string.format('%d', nil)")?.message == "test:1: bad argument #2 to 'format' (number expected, got nil)")
        #expect(s.failure("string.format('%y', 1)")?.message == "test:1: invalid conversion '%y' to 'format'")
        #expect(s.failure("table.sort(1)")?.message == "test:1: bad argument #1 to 'sort' (table expected, got number)")
        #expect(s.failure("table.move({}, 1, math.maxinteger, 2)")?.message
                == "test:1: bad argument #4 to 'move' (destination wrap around)")
    }

    // MARK: The pattern matcher against Lua's own

    /// Random patterns, subjects and arguments through kmlab's matcher and
    /// through Lua 5.4's string library in a plain state: the same results
    /// and the same error messages.
    @Test(arguments: [1, 2, 3, 4])
    func patternFunctionsAgreeWithLua(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let atoms = ["a", "b", "c", ".", "%a", "%d", "%s", "%w", "%A", "%p", "%z", "[ab]", "[^a]", "[a-c]",
                     "[%a_]", "[]]", "*", "+", "-", "?", "(", ")", "()", "%1", "%2", "^", "$", "%b()",
                     "%f[%w]", "%f[%W]", "%", "[", "%%", "%.", "1", " "]
        let letters = Array("ab1 ()c_.%")
        var cases: [String] = []
        for _ in 0..<400 {
            var p = ""
            for _ in 0..<Int.random(in: 0...6, using: &rng) { p += atoms[Int.random(in: 0..<atoms.count, using: &rng)] }
            var subject = ""
            for _ in 0..<Int.random(in: 0...12, using: &rng) { subject.append(letters[Int.random(in: 0..<letters.count, using: &rng)]) }
            let q = { (x: String) in "\"" + x.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            let initArg = Int.random(in: -4...14, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: cases.append("R(pcall(string.find, \(q(subject)), \(q(p)), \(initArg)))")
            case 1: cases.append("R(pcall(string.find, \(q(subject)), \(q(p)), \(initArg), true))")
            case 2: cases.append("R(pcall(string.match, \(q(subject)), \(q(p)), \(initArg)))")
            case 3: cases.append("R(pcall(G, \(q(subject)), \(q(p)), \(initArg)))")
            case 4:
                let repl = ["\"<%0>\"", "\"%1\"", "\"%%\"", "\"x%2\"", "\"%x\"", "{a = \"A\", b = false}",
                            "function(...) return select('#', ...) .. (...) end", "function() end", "7"]
                let r = repl[Int.random(in: 0..<repl.count, using: &rng)]
                cases.append("R(pcall(string.gsub, \(q(subject)), \(q(p)), \(r)))")
            case 5: cases.append("R(pcall(string.gsub, \(q(subject)), \(q(p)), \"-\", \(Int.random(in: -1...3, using: &rng))))")
            default: cases.append("R(pcall(string.find, \(q(subject)), \(q(p))))")
            }
        }
        let script = """
        local out = {}
        local function R(...)
          local n, parts = select("#", ...), {}
          for i = 1, n do
            local v = select(i, ...)
            parts[i] = type(v) == "string" and string.format("%q", v) or tostring(v)
          end
          out[#out + 1] = table.concat(parts, " ")
        end
        local function G(s, p, i)
          local all = {}
          for a, b in string.gmatch(s, p, i) do all[#all + 1] = tostring(a) .. "/" .. tostring(b) end
          return table.concat(all, ",")
        end
        \(cases.joined(separator: "\n"))
        return table.concat(out, "\\n")
        """
        let reference = try referenceLua(script)
        let s = try CapturedState(limits: .unlimited)
        guard case .string(let bytes)? = s.values(script).first else {
            Issue.record("kmlab's state did not return a string: \(String(describing: s.failure(script)))")
            return
        }
        let ours = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let theirs = reference.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ours.count == theirs.count)
        for (i, (a, b)) in zip(ours, theirs).enumerated() where a != b {
            Issue.record("case \(i): \(cases[i])\n  kmlab: \(a)\n  lua:   \(b)")
        }
    }

    /// Runs `script` in a plain Lua state with Lua's own libraries.
    func referenceLua(_ script: String) throws -> String {
        let L = try #require(luaL_newstate())
        defer { lua_close(L) }
        luaL_openlibs(L)
        #expect(LuaState.loadStatus(on: L, Array(script.utf8), chunkName: "=test", mode: "t") == LUA_OK)
        #expect(lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK)
        var len = 0
        let p = try #require(lua_tolstring(L, -1, &len))
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }
}

