import Testing
@testable import LuaBridge

/// Declared object types: userdata with a payload, typed tables, and the
/// checks that tell our values from a script's look-alikes.
@Suite struct ObjectTypeTests {
    struct Handle: Equatable { var id: Int64; var generation: Int64 }
    static let handle = LuaObjectType(key: "test.handle")
    static let other = LuaObjectType(key: "test.other")

    func state() throws -> CapturedState {
        let s = try CapturedState()
        s.lua.declare(Self.handle, typeName: "struct thing") { meta in
            meta.define("__tostring", named: "tostring") { call in
                guard let h = call.userdata(1, of: Self.handle, as: Handle.self) else { return 0 }
                call.push("thing #\(h.id) of \(h.generation)")
                return 1
            }
            meta.define("__index", named: "thing") { call in
                call.push(call.kind(2) == .string ? "field " + ((try? call.string(2, "key")) ?? "") : "?")
                return 1
            }
        }
        s.lua.declare(Self.other, typeName: "other", locked: false) { _ in }
        s.lua.register("make") { call in
            call.pushUserdata(Handle(id: try call.integer(1, "id"), generation: 7), of: Self.handle)
            return 1
        }
        s.lua.register("make_other") { call in
            call.pushUserdata(Handle(id: 1, generation: 1), of: Self.other)
            return 1
        }
        s.lua.register("read") { call in
            guard let h = call.userdata(1, of: Self.handle, as: Handle.self) else { throw call.argumentError(1, "h", "a thing") }
            call.push(h.id)
            return 1
        }
        return s
    }

    @Test func payloadsRoundTripAndOthersAreRefused() throws {
        let s = try state()
        #expect(s.values("return read(make(41)), tostring(make(-3)), make(1).name") ==
                [.integer(41), .string("thing #-3 of 7"), .string("field name")])
        for wrong in ["{}", "make_other()", "nil", "'x'", "io"] {
            let f = s.failure("return read(\(wrong))")
            #expect(f?.message.contains("read: h must be a thing") == true, "\(wrong): \(f?.message ?? "no error")")
        }
    }

    @Test func lockedTypesHideTheirMetatableAndNameThemselvesInErrors() throws {
        let s = try state()
        #expect(s.values("return getmetatable(make(1))") == [.string("struct thing")])
        #expect(s.failure("setmetatable(make(1), {})") != nil)
        #expect(s.failure("return make(1) + 1")?.message.contains("struct thing value") == true)
        // An unlocked type's metatable is a table a script may read.
        #expect(s.values("return type(getmetatable(make_other()))") == [.string("table")])
    }

    @Test func typedTablesAreRecognisedByTheirMetatableOnly() throws {
        let s = try state()
        var verdicts: [Bool] = []
        s.lua.register("typed") { call in
            call.pushTable(fieldCount: 1) { t in
                t.set("text", "hello")
                t.setType(Self.other)
            }
            return 1
        }
        s.lua.register("check") { call in
            verdicts.append(call.state.isValue(at: 1, of: Self.other, on: call.L))
            return 0
        }
        s.run("""
            local t = typed()
            check(t)
            check(setmetatable({text = 'hello'}, {__metatable = getmetatable(t)}))
            check(setmetatable({}, getmetatable(t)))
            check({}) check(7) check(make_other())
            """)
        // A script that copies the metatable makes one of ours: it can only
        // use what the type already gives every value of it.
        #expect(verdicts == [true, false, true, false, false, true])
        s.lua.pushNewTable(of: Self.other)
        #expect(s.lua.isValue(at: -1, of: Self.other))
        #expect(s.lua.rawFieldValue(at: -1, "text") == .nil)
        s.lua.setStackTop(0)
    }

    @Test func redeclaringReplacesTheFunctions() throws {
        let s = try state()
        s.lua.declare(Self.handle, typeName: "struct thing") { meta in
            meta.define("__tostring", named: "tostring") { call in
                call.push("new")
                return 1
            }
        }
        #expect(s.values("return tostring(make(1))") == [.string("new")])
    }

    @Test func recordsInAListAreReadAndWrittenRaw() throws {
        let s = try CapturedState()
        var read: [LuaValue] = []
        s.lua.register("walk") { call in
            let n = call.rawLength(1)
            for i in 1...max(1, n) {
                read.append(call.withRawElement(1, Int64(i)) { e in call.rawFieldValue(e, "v") })
                call.withRawElement(1, Int64(i)) { e in call.updateTable(e) { $0.set("seen", Int64(i)) } }
            }
            call.push(Int64(n))
            #expect(call.argumentCount == 2, "the stack holds the argument and the result only")
            return 1
        }
        let v = s.values("""
            local l = setmetatable({{v = 1}, 'not a record', {v = 'x'}}, {__len = function() return 99 end})
            local n = walk(l)
            return n, l[1].seen, l[2], l[3].seen
            """)
        #expect(v == [.integer(3), .integer(1), .string("not a record"), .integer(3)])
        #expect(read == [.integer(1), .nil, .string("x")])
    }

    @Test func globalsAreComparedRaw() throws {
        let s = try CapturedState()
        var answers: [Bool] = []
        s.lua.register("is") { call in
            answers.append(call.globalIs(try call.string(1, "name"), field: try call.optionalString(2, "field"), sameAs: 3))
            return 0
        }
        s.run("""
            f = function() end
            t = {g = f}
            is('f', nil, f) is('t', 'g', f) is('t', 'h', f) is('f', nil, print) is('missing', 'x', f) is('f', 'x', f)
            """)
        #expect(answers == [true, true, false, false, false, false])
    }

    @Test func callerPositionNamesTheLuaLine() throws {
        let s = try CapturedState()
        var where_: [String] = []
        s.lua.register("here") { call in
            if let p = call.callerPosition(level: 1) { where_.append("\(p.source):\(p.line)") }
            #expect(call.callerPosition(level: 50) == nil)
            return 0
        }
        s.run("local x = 1\nhere()\nlocal function f()\n  here()\nend\nf()")
        #expect(where_ == ["test:2", "test:4"])
    }

    @Test func argumentDescriptionsMatchTheCallsOwn() throws {
        var pairs: [(String, String)] = []
        let s = try CapturedState()
        s.lua.register("d") { call in
            pairs.append((call.describe(1), call.state.shallowValue(at: 1, on: call.L).argumentDescription))
            return 0
        }
        s.run("d(3) d(2.5) d(0/0) d(1/0) d(-1/0) d('s') d({}) d(nil) d(true) d(print)")
        #expect(pairs.count == 10)
        for (a, b) in pairs { #expect(a == b) }
    }
}
