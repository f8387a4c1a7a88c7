import Testing
@testable import LuaBridge

/// Calling Lua back from Swift with values, naming the functions called
/// back, and the call stack as reports show it.
@Suite struct CallbackTests {
    @Test func callbacksGetTheirArgumentsAndReturnShallowResults() throws {
        let s = try CapturedState()
        s.run("function cb(n, data) return n + 1, data.tag, {1, 2}, string.rep('x', 100), print, 2.5 end")
        s.lua.pushGlobal("cb")
        let fn = s.lua.reference(at: -1)
        s.lua.setStackTop(0)
        _ = s.values("box = {tag = 'seen'}")
        s.lua.pushGlobal("box")
        let data = s.lua.reference(at: -1)
        s.lua.setStackTop(0)
        var kept: LuaReference?
        let r = try s.lua.callback(fn, arguments: [.integer(41), .reference(data)], results: 6) { kept = $0 }
        #expect(r.count == 6)
        #expect(r[0] == .integer(42))
        #expect(r[1] == .string("seen"))
        #expect(r[2] == .table([]), "a table comes back empty")
        #expect(r[3] == .string(String(repeating: "x", count: 64)), "a long string comes back cut")
        #expect(r[4] == .function)
        #expect(r[5] == .number(2.5))
        let k = try #require(kept)
        s.lua.push(k)
        #expect(s.lua.value(at: -1) == .integer(42))
        s.lua.setStackTop(0)
        #expect(s.lua.stackTop == 0)
    }

    @Test func failuresAreThrownAndTheStackIsRestored() throws {
        let s = try CapturedState()
        s.run("function bad() error('boom') end")
        s.lua.pushGlobal("bad")
        let fn = s.lua.reference(at: -1)
        s.lua.setStackTop(0)
        #expect {
            try s.lua.callback(fn, arguments: [], results: 1)
        } throws: { ($0 as? LuaFailure)?.message.contains("boom") == true }
        #expect(s.lua.stackTop == 0)
        #expect(throws: LuaStackExhausted.self) {
            try s.lua.callback(fn, arguments: Array(repeating: .integer(1), count: 2_000_000), results: 0)
        }
        #expect(s.lua.stackTop == 0)
    }

    @Test func functionsAreNamedByGlobalElseByDefinitionAndTracesUseTheNames() throws {
        let s = try CapturedState()
        var names: [String] = []
        var traces: [[String]] = []
        s.lua.register("name_of") { call in
            if let g = call.globalName(of: 1, limit: 10_000) {
                names.append(g)
            } else if let site = call.definitionSite(of: 1) {
                names.append("fn@\(site.source):\(site.line)")
                call.state.recordFunctionName("handler", forFunctionAt: 1, on: call.L)
            }
            return 0
        }
        s.lua.register("trace") { call in
            traces.append(call.state.callTrace(maxFrames: 24))
            return 0
        }
        s.run("""
            zeta = function() end
            alpha = zeta
            name_of(zeta)
            local anon = function()
              trace()
            end
            name_of(anon)
            pcall(anon)
            """)
        // The smallest of two global names; a local's place of definition.
        #expect(names == ["alpha", "fn@test:4"])
        // Called from C (pcall), Lua has no name for it: the recorded one shows.
        #expect(traces == [[" trace", " handler [test:5]", " pcall", " <chunk> [test:8]"]])
        #expect(s.values("return 1") == [.integer(1)])
    }

    @Test func identitiesFollowValuesNotContents() throws {
        let s = try CapturedState()
        var ids: [UnsafeRawPointer?] = []
        s.lua.register("id") { call in
            ids.append(call.identity(1))
            return 0
        }
        s.run("local t = {} id(t) id(t) id({}) id(3) id(true)")
        #expect(ids.count == 5)
        #expect(ids[0] != nil && ids[0] == ids[1])
        #expect(ids[2] != ids[0])
        #expect(ids[3] == nil && ids[4] == nil)
    }
}
