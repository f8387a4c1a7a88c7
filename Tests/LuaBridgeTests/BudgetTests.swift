import Testing
@testable import LuaBridge

/// Budgets are enforced from C and cannot be swallowed by pcall/xpcall.
@Suite struct BudgetTests {
    static let small = LuaLimits(maxInstructions: 5_000_000, maxMemory: 32 << 20)

    @Test(arguments: [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(m) return m end) end",
        "xpcall(function() while true do end end, function(m) while true do end end) while true do end",
        "local co = coroutine.wrap(function() while true do end end) while true do pcall(co) end",
        "while true do pcall(error, 'x') end",
        "local t = setmetatable({}, {__index = function(t, k) while true do end end}) while true do pcall(function() return t.x end) end",
        "for i = 1, math.huge do pcall(string.gsub, 'aaa', 'a', function() while true do end end) end",
        "local f = load('while true do end') while true do pcall(f) end",
    ])
    func endlessLoopsEndWithInstructionLimit(source: String) throws {
        let s = try CapturedState(limits: Self.small)
        let f = try #require(s.failure(source))
        #expect(f.kind == .instructionLimit)
        #expect(f.message.contains("instruction limit exceeded"))
    }

    @Test(arguments: [
        "local t = {} while true do t[#t + 1] = {} end",
        "local t = {} while true do pcall(function() for i = 1, 1e9 do t[#t + 1] = ('x'):rep(100) .. i end end) end",
        "local s = 'x' while true do pcall(function() s = s .. s end) end",
        "local s = ('x'):rep(1 << 20) local t = {} for i = 1, 1e6 do t[i] = s .. i end",
        "local t = {} for i = 1, 1e6 do t[i] = string.rep('y', 1 << 16) .. i end",
        "local parts = {} for i = 1, 1e6 do parts[i] = ('z'):rep(4096) end print(#table.concat(parts))",
        "local cos = {} while true do cos[#cos + 1] = coroutine.create(function() end) end",
        "local t = {} while true do local ok = pcall(function() t[#t+1] = {} end) if not ok then t = {} end end",
    ])
    func memoryBombsEndWithMemoryLimit(source: String) throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 2_000_000_000, maxMemory: 32 << 20))
        let f = try #require(s.failure(source))
        #expect(f.kind == .memoryLimit, "got \(f.kind): \(f.message)")
        #expect(s.lua.memoryUsed < (64 << 20))
    }

    /// Host-side state that scales with a script asks before it grows: a
    /// request so large that used + request overflows is refused, not wrapped.
    @Test func canAllocateRefusesRequestsThatOverflow() throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 0, maxMemory: 8 << 20))
        #expect(s.lua.canAllocate(1 << 20))
        #expect(!s.lua.canAllocate(16 << 20))
        #expect(!s.lua.canAllocate(Int.max))
        #expect(!s.lua.canAllocate(-1))
    }

    @Test func memoryBudgetHitWhileSwiftPushesResults() throws {
        let s = try CapturedState(limits: LuaLimits(maxInstructions: 0, maxMemory: 8 << 20))
        // Pushes ~12 MiB of results from Swift: the allocator must not fail
        // (a raise here would longjmp over this closure); the budget is then
        // enforced at the next allocation Lua code makes.
        s.lua.register("flood") { call in
            let chunk = [UInt8](repeating: 65, count: 64 * 1024)
            lua_createtableShim(call)
            for i in 1...192 {
                call.push(bytes: chunk + [UInt8(i & 0x7f)])
                lua_rawsetiShim(call, Int64(i))
            }
            return 1
        }
        let f = try #require(s.failure("local t = flood() local u = {} for i = 1, 100 do u[i] = {} end"))
        #expect(f.kind == .memoryLimit)
    }

    @Test func budgetsResetForTheNextChunk() throws {
        let s = try CapturedState(limits: Self.small)
        #expect(s.failure("while true do end")?.kind == .instructionLimit)
        s.lua.resetBudgets()
        #expect(s.values("return 1 + 1") == [.integer(2)])
    }

    @Test func interruptStopsARunningChunk() throws {
        let s = try CapturedState(limits: .unlimited)
        var n = 0
        s.lua.register("tick") { call in
            n += 1
            if n == 3 { call.state.requestInterrupt() }
            return 0
        }
        let f = try #require(s.failure("while true do pcall(tick) end"))
        #expect(f.kind == .interrupted)
    }
}

import CLua
func lua_createtableShim(_ call: LuaCall) { lua_createtable(call.L, 0, 0) }
func lua_rawsetiShim(_ call: LuaCall, _ i: Int64) { lua_rawseti(call.L, -2, i) }
