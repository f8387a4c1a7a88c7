import Testing
@testable import LuaBridge

/// The Swift API the kernel glue uses instead of stack code: types, raw
/// shallow field reads, key walks with a limit, and the table builder.
@Suite struct TableAccessTests {
    /// Registers `probe(...)` running `body` and returns the state.
    func state(_ body: @escaping LuaFunction) throws -> CapturedState {
        let s = try CapturedState()
        s.lua.register("probe", body)
        return s
    }

    @Test func kindsMatchLuaTypeNames() throws {
        var seen: [String] = []
        let s = try state { call in
            for i in 1...call.argumentCount + 1 { seen.append(call.kind(i).name) }
            return 0
        }
        s.run("probe(nil, true, 1, 'x', {}, print, coroutine.create(print), io == nil)")
        // Each kind's name is what Lua's type() prints; past the top is "no value".
        #expect(seen == ["nil", "boolean", "number", "string", "table", "function", "thread", "boolean", "no value"])
        let types = s.values("return type(nil), type(true), type(1), type('x'), type({}), type(print), type(coroutine.create(print))")
        #expect(types.map(\.text) == seen.prefix(7).map { Optional($0) })
    }

    @Test func integersAreOnlyIntegers() throws {
        var got: [Int64?] = []
        let s = try state { call in
            for i in 1...call.argumentCount { got.append(call.isInteger(i) ? call.uncheckedInteger(i) : nil) }
            return 0
        }
        s.run("probe(7, 2.0, '3', -1 << 63, 0.5)")
        #expect(got == [7, nil, nil, Int64.min, nil])
    }

    @Test func rawFieldsAreShallowAndRunNoCode() throws {
        var fields: [LuaValue] = []
        let s = try state { call in
            for key in ["s", "n", "f", "b", "t", "u", "missing"] { fields.append(call.rawFieldValue(1, key)) }
            fields.append(call.rawFieldValue(2, "s")) // not a table
            #expect(call.argumentCount == 2, "the stack is left as it was")
            return 0
        }
        let r = s.run("""
            local touched = false
            local ud = setmetatable({}, {__tostring = function() touched = true return 'ran' end})
            local t = setmetatable({s = 'a\\0b', n = 1.5, f = print, b = false, t = {1, 2}, u = ud},
                                   {__index = function() touched = true return 'index ran' end})
            probe(t, 'not a table')
            return touched
            """)
        #expect(try r.get() == [.boolean(false)], "no metamethod may run")
        #expect(fields == [.string([97, 0, 98]), .number(1.5), .function, .boolean(false),
                           .elided("table"), .elided("table"), .nil, .nil])
        #expect(fields.map(\.typeName) == ["string", "number", "function", "boolean", "table", "table", "nil", "nil"])
    }

    @Test func keyWalkStopsAtItsLimitAndRestoresTheStack() throws {
        var counts: [Int] = []
        var completed: [Bool] = []
        let s = try state { call in
            for limit in [0, 3, 100] {
                var n = 0
                completed.append(call.forEachRawKey(ofTable: 1, limit: limit) { _ in n += 1; return true })
                counts.append(n)
            }
            var first: LuaValue?
            completed.append(call.forEachRawKey(ofTable: 1, limit: 100) { first = $0; return false })
            #expect(first != nil)
            #expect(throws: LuaCallError.self) {
                try call.forEachRawKey(ofTable: 1, limit: 100) { _ in throw call.error("stop") }
            }
            #expect(call.argumentCount == 1, "the stack is left as it was, after a throw too")
            return 0
        }
        s.run("probe(setmetatable({a = 1, b = 2, c = 3, d = 4, 5}, {__pairs = error}))")
        #expect(counts == [0, 3, 5])
        #expect(completed == [false, false, true, false])
    }

    @Test func builtTablesHoldWhatWasSet() throws {
        let s = try state { call in
            call.pushTable(arrayCount: 2, fieldCount: 6) { t in
                t.set("i", Int64(-5))
                t.set("n", 42)
                t.set("s", "text")
                t.set("b", true)
                t.set("d", 0.25)
                t.set("v", LuaValue.string([0, 1]))
                t.set(1) { call.push("first") }
                t.set(2, .integer(2))
                t.set("nested") {
                    call.pushTable { inner in inner.set("deep", "yes") }
                }
                t.set("none") {}                               // pushed nothing: nil
                t.set("many") { call.push(1); call.push(2) }   // pushed two: the first
            }
            return 1
        }
        let v = s.values("local t = probe() return t, #t, t.nested.deep")
        let t = try #require(v.first)
        #expect(t["i"] == .integer(-5))
        #expect(t["n"] == .integer(42))
        #expect(t["s"] == .string("text"))
        #expect(t["b"] == .boolean(true))
        #expect(t["d"] == .number(0.25))
        #expect(t["v"] == .string([0, 1]))
        #expect(t[.integer(1)] == .string("first"))
        #expect(t["none"] == nil)
        #expect(t["many"] == .integer(1))
        #expect(v.dropFirst() == [.integer(2), .string("yes")])
    }

    @Test func globalTablesAndConstants() throws {
        let s = try CapturedState()
        s.run("box = {} notatable = 3")
        s.lua.updateGlobalTable("box") { $0.set("pid", Int64(413)) }
        s.lua.updateGlobalTable("notatable") { $0.set("pid", Int64(1)) }
        s.lua.updateGlobalTable("absent") { $0.set("pid", Int64(1)) }
        s.lua.setGlobal("ANSWER", .integer(42))
        #expect(s.values("return box.pid, notatable, absent, ANSWER") == [.integer(413), .integer(3), .nil, .integer(42)])
        #expect(s.lua.stackTop == 0)
    }

    @Test func argumentCountPadsWithNil() throws {
        var tops: [Int32] = []
        var kinds: [LuaType] = []
        let s = try state { call in
            call.setArgumentCount(4)
            tops.append(call.argumentCount)
            kinds.append(call.kind(4))
            return 0
        }
        s.run("probe(1) probe(1, 2, 3, 4, 5, 6)")
        #expect(tops == [4, 4])
        #expect(kinds == [.nil, .number])
    }
}
