import Testing
@testable import LuaBridge

/// Errors raised by Swift functions reach Lua through the C trampoline
/// (Modules/CLua/shim.h), never by a longjmp across Swift frames.
@Suite struct TrampolineTests {
    @Test func swiftErrorIsACatchableLuaErrorWithPosition() throws {
        let s = try CapturedState()
        s.lua.register("fails") { call in throw call.error("size must be a non-negative integer, got string") }
        let v = s.values("local ok, e = pcall(function() return fails() end) return ok, e")
        #expect(v == [.boolean(false), .string("test:1: fails: size must be a non-negative integer, got string")])
    }

    @Test func uncaughtSwiftErrorEndsTheChunkWithTraceback() throws {
        let s = try CapturedState()
        s.lua.register("fails") { _ in throw LuaCallError.message("nope") }
        let f = try #require(s.failure("local x = 1\nfails()"))
        #expect(f.kind == .error)
        #expect(f.message == "test:2: nope")
        #expect(f.traceback?.contains("fails") == true)
    }

    @Test func argumentHelpersNameFunctionAndArgument() throws {
        let s = try CapturedState()
        s.lua.register("takes") { call in
            let n = try call.count(1, "size")
            call.push(Int64(n))
            return 1
        }
        #expect(s.values("return takes(4096.0)") == [.integer(4096)])
        #expect(s.values("return select(2, pcall(takes, 'x'))") == [.string("takes: size must be a non-negative integer, got string")])
        #expect(s.values("return select(2, pcall(takes, 1.5))") == [.string("takes: size must be a non-negative integer, got 1.5")])
        #expect(s.values("return select(2, pcall(takes, -1))") == [.string("takes: size must be a non-negative integer, got -1")])
        #expect(s.values("return select(2, pcall(takes, 0/0))") == [.string("takes: size must be a non-negative integer, got nan")])
        #expect(s.values("return select(2, pcall(takes, 1/0))") == [.string("takes: size must be a non-negative integer, got inf")])
        #expect(s.values("return select(2, pcall(takes))") == [.string("takes: size must be a non-negative integer, got no value")])
    }

    @Test func manyThousandsOfErrorsLeakNothing() throws {
        var s: CapturedState? = try CapturedState()
        weak var weakState = s?.lua
        s?.lua.register("fails") { call in throw call.error(String(repeating: "x", count: 200)) }
        let loop = "for i = 1, 20000 do pcall(fails, i) end"
        s?.run(loop) // warm up allocator pools
        let luaBefore = s?.lua.memoryUsed ?? 0
        for _ in 0..<5 { s?.run(loop) }
        // 100,000 more errors: Lua's own heap stays flat ...
        #expect((s?.lua.memoryUsed ?? 0) < luaBefore + 256 * 1024)
        // ... and no Swift reference was skipped by a longjmp: once its owner
        // lets go, the state is freed. (Process RSS is checked in a separate
        // process by KmlabCLITests, where parallel tests cannot disturb it.)
        s = nil
        #expect(weakState == nil)
    }

    @Test func valueOnStackIsRaisedUnchanged() throws {
        let s = try CapturedState()
        s.lua.register("raiseTable") { call in
            call.push(LuaValue.table([LuaTableEntry(key: .string("kind"), value: .string("oops"))]))
            throw LuaCallError.valueOnStack
        }
        #expect(s.values("local ok, e = pcall(raiseTable) return type(e), e.kind") == [.string("table"), .string("oops")])
    }

    @Test func swiftCanCallBackIntoLuaFromACallback() throws {
        let s = try CapturedState()
        s.lua.register("callTwice") { call in
            try call.checkFunction(1, "f")
            var total: Int64 = 0
            for _ in 0..<2 {
                lua_pushvalueShim(call)
                if let failure = call.state.protectedCall(on: call.L, arguments: 0, results: 1) { throw failure }
                total += call.state.value(at: -1, on: call.L).integerValue ?? 0
                call.state.popShim(call)
            }
            call.push(total)
            return 1
        }
        #expect(s.values("local n = 0 return callTwice(function() n = n + 20 return n end)") == [.integer(60)])
        // An error inside the callback propagates as a normal Lua error.
        #expect(s.values("return pcall(callTwice, function() error('inner') end)").first == .boolean(false))
        // And a budget tripped inside it still ends the chunk.
        s.lua.setLimits(LuaLimits(maxInstructions: 1_000_000, maxMemory: 0))
        #expect(s.failure("pcall(callTwice, function() while true do end end) while true do end")?.kind == .instructionLimit)
    }

    /// `currentFunction` names the Swift function running for Lua (the call
    /// traces tell same-line calls apart by it): set during a call, nil while
    /// Lua code runs from Swift, restored after a nested call.
    @Test func currentFunctionIsTheRunningSwiftFunction() throws {
        let s = try CapturedState()
        var seen: [String: UnsafeRawPointer?] = [:]
        s.lua.register("inner") { call in
            seen["inner"] = call.state.currentFunction
            return 0
        }
        s.lua.register("outer") { call in
            seen["outerBefore"] = call.state.currentFunction
            lua_pushvalueShim(call)
            if let failure = call.state.protectedCall(on: call.L, arguments: 0, results: 0) { throw failure }
            seen["outerAfter"] = call.state.currentFunction
            return 0
        }
        #expect(s.lua.currentFunction == nil)
        _ = s.values("outer(function() inner() end)")
        let before = try #require(seen["outerBefore"] ?? nil)
        let inner = try #require(seen["inner"] ?? nil)
        #expect(before != inner)
        #expect(seen["outerAfter"] == before)
        #expect(s.lua.currentFunction == nil)
    }
}

import CLua
func lua_pushvalueShim(_ call: LuaCall) { lua_pushvalue(call.L, 1) }
extension LuaState { func popShim(_ call: LuaCall) { kmlab_pop(call.L, 1) } }
