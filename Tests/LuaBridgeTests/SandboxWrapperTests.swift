import Testing
@testable import LuaBridge

/// The sandbox's xpcall and setmetatable (Modules/CLua/sandbox.h) behave as
/// Lua's, except that xpcall's handler runs after unwinding and __gc is refused.
@Suite struct SandboxWrapperTests {
    @Test func xpcallPassesEveryResultThrough() throws {
        let s = try CapturedState()
        #expect(s.values("return xpcall(function(...) return ... end, print, 1, nil, 'three')")
                == [.boolean(true), .integer(1), .nil, .string(Array("three".utf8))])
        #expect(s.values("return select('#', xpcall(function() return table.unpack({}, 1, 240) end, print))") == [.integer(241)])
        #expect(s.values("return xpcall(function() end, print)") == [.boolean(true)])
    }

    @Test func xpcallGivesTheHandlerTheErrorAfterUnwinding() throws {
        let s = try CapturedState()
        #expect(s.values("return xpcall(error, function(m) return 'handled ' .. m end, 'boom', 0)")
                == [.boolean(false), .string(Array("handled boom".utf8))])
        // A handler that fails: its own error is what xpcall returns.
        #expect(s.values("return xpcall(error, function(m) error('again', 0) end, 'boom')")
                == [.boolean(false), .string(Array("again".utf8))])
        // A handler that is not a function: the call's error, as pcall words it.
        let v = s.values("return xpcall(error, nil, 'boom')")
        #expect(v.first == .boolean(false))
        #expect(v.count == 2)
        // Called after unwinding: the handler sees no frame of the failed call.
        #expect(s.values("""
        local depth
        xpcall(function() local function deep(n) if n == 0 then error('x') end return deep(n - 1) + 1 end deep(50) end,
               function() depth = 0 end)
        return depth
        """) == [.integer(0)])
    }

    @Test func xpcallLetsTheFunctionAndTheHandlerYield() throws {
        let s = try CapturedState()
        #expect(s.values("""
        local co = coroutine.wrap(function()
          local ok, v = xpcall(function() coroutine.yield('in f') return 'done' end, print)
          local ok2, w = xpcall(function() error('e', 0) end, function(m) coroutine.yield('in handler') return m .. '!' end)
          return tostring(ok) .. v .. tostring(ok2) .. w
        end)
        return co(), co(), co()
        """) == [.string(Array("in f".utf8)), .string(Array("in handler".utf8)), .string(Array("truedonefalsee!".utf8))])
    }

    @Test func setmetatableChecksItsArgumentsAsLuaDoes() throws {
        let s = try CapturedState()
        #expect(s.failure("setmetatable(1, {})")?.message.contains("bad argument #1 to 'setmetatable' (table expected, got number)") == true)
        #expect(s.failure("setmetatable({}, 1)")?.message.contains("bad argument #2 to 'setmetatable' (nil or table expected") == true)
        #expect(s.failure("setmetatable(setmetatable({}, {__metatable = 'no'}), {})")?.message.contains("cannot change a protected metatable") == true)
        #expect(s.failure("setmetatable({}, {__gc = true})")?.message == "test:1: setmetatable: __gc metamethods are not available in the sandbox")
        #expect(s.values("local t = {} return setmetatable(t, nil) == t and getmetatable(t) == nil") == [.boolean(true)])
    }
}
