import CLua
import Testing
@testable import LuaBridge

/// Lua 5.4 seeds its string hash from the clock and from addresses, which
/// makes table layouts, and through them memory figures and collector
/// timing, differ from run to run. kmlab's allocator gives every state one
/// fixed seed (Modules/CLua/shim.h, kmlab_fix_seed).
@Suite struct HashSeedTests {
    @Test(arguments: [LuaProfile.sandbox, .trusted])
    func everyStateGetsTheFixedSeed(profile: LuaProfile) throws {
        let s = try LuaState(profile: profile, limits: .unlimited)
        defer { s.close() }
        #expect(s.budget.pointee.seed_fixed == 1)
    }

    /// Lua's own traversal of string keys (its hash order) is the same in
    /// every state, as it is in every run: states created at different
    /// times and heap addresses (and, under ASLR, stack and code addresses).
    @Test func rawHashOrderIsTheSameInEveryState() throws {
        func rawOrder() throws -> [String] {
            let s = try LuaState(profile: .sandbox, limits: .unlimited)
            defer { s.close() }
            let L = s.L
            lua_createtable(L, 0, 0)
            for i in 0..<200 {
                lua_pushstring(L, "key\(i * 7919 % 1000)")
                lua_pushinteger(L, lua_Integer(i))
                lua_rawset(L, -3)
            }
            var keys: [String] = []
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                kmlab_pop(L, 1)
                keys.append(String(cString: kmlab_tocstring(L, -1)))
            }
            kmlab_pop(L, 1)
            return keys
        }
        let first = try rawOrder()
        #expect(first.count == 200)
        var keep: [LuaState] = [] // other states alive in between move the next one's addresses
        defer { keep.forEach { $0.close() } }
        for _ in 0..<4 {
            keep.append(try LuaState(profile: .sandbox, limits: .unlimited))
            #expect(try rawOrder() == first)
        }
    }

    /// The figure a script reads from the collector, after churning string-
    /// and object-keyed tables (rehashes, collections), is the same in a
    /// fresh state each time.
    @Test func collectgarbageCountIsTheSameInEveryState() throws {
        func counts() throws -> [LuaValue] {
            let s = try CapturedState()
            return s.values("""
            math.randomseed(42)
            local tabs, objs, out = {}, {}, {}
            for i = 1, 30 do tabs[i] = {} objs[i] = {} end
            for r = 1, 30000 do
              local t = tabs[math.random(30)]
              local k = math.random(2) == 1 and ("s" .. math.random(40)) or objs[math.random(30)]
              if math.random(3) == 1 then t[k] = nil else t[k] = r end
              if r % 3000 == 0 then out[#out + 1] = collectgarbage("count") end
            end
            return table.concat(out, " ")
            """)
        }
        let first = try counts()
        #expect(first.count == 1)
        for _ in 0..<3 { #expect(try counts() == first) }
    }
}
