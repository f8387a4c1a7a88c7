import Testing
@testable import LuaBridge

@Suite struct SandboxTests {
    @Test(arguments: ["dofile", "loadfile", "require", "io", "debug", "package"])
    func removedNamesAreNil(name: String) throws {
        let s = try CapturedState()
        #expect(s.values("return \(name) == nil") == [.boolean(true)])
    }

    @Test func osHasOnlyADeterministicClock() throws {
        let s = try CapturedState()
        #expect(s.values("local n = 0 for k in pairs(os) do n = n + 1 end return n, type(os.clock()), os.exit, os.execute, os.getenv, os.remove")
                == [.integer(1), .string("number"), .nil, .nil, .nil, .nil])
    }

    @Test func loadRefusesBinaryChunks() throws {
        let s = try CapturedState()
        let v = s.values("local f = string.dump and string.dump(function() end) return load(f or '\\27Lua', 'x', 'b')")
        #expect(v.first == .nil)
        #expect(v.last?.text?.contains("binary chunk") == true)
        #expect(s.values("return load('return 40 + 2')()") == [.integer(42)])
        #expect(s.values("local env = {y = 5} return load('return y', 'c', 't', env)()") == [.integer(5)])
        #expect(s.values("y = 7 return load('return y')()") == [.integer(7)])
    }

    @Test func collectgarbageOnlyCounts() throws {
        let s = try CapturedState()
        #expect(s.values("return type(collectgarbage('count'))") == [.string("number")])
        for opt in ["nil", "'collect'", "'stop'", "'step'", "'incremental'"] {
            let v = s.values("return pcall(collectgarbage, \(opt))")
            #expect(v.first == .boolean(false), "collectgarbage(\(opt))")
            #expect(v.last?.text?.contains("only \"count\"") == true)
        }
    }

    @Test func stringMetatableIsLocked() throws {
        let s = try CapturedState()
        #expect(s.values("return getmetatable('')") == [.boolean(false)])
        #expect(s.values("return pcall(function() getmetatable('').__index = {} end)").first == .boolean(false))
        #expect(s.values("return ('abc'):upper()") == [.string("ABC")])
    }

    @Test func gcMetamethodsAreRefused() throws {
        let s = try CapturedState()
        let v = s.values("return pcall(setmetatable, {}, {__gc = function() end})")
        #expect(v.first == .boolean(false))
        #expect(s.values("return getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a") == [.integer(1)])
    }

    @Test func trustedProfileOpensEverything() throws {
        let s = try CapturedState(profile: .trusted)
        #expect(s.values("return type(io), type(os.time), type(debug), type(require)")
                == [.string("table"), .string("function"), .string("table"), .string("function")])
    }

    @Test func embeddedNulStringsRoundTrip() throws {
        let s = try CapturedState()
        s.lua.register("echo") { call in
            let b = try call.bytes(1, "s")
            call.push(bytes: b)
            call.push(Int64(b.count))
            return 2
        }
        #expect(s.values("return echo('a\\0b\\0\\0c')") == [.string([97, 0, 98, 0, 0, 99]), .integer(6)])
        s.run("print('x\\0y')")
        #expect(s.output == [120, 0, 121, 10])
    }

    @Test func outputIsDeterministic() throws {
        func transcript() throws -> String {
            let s = try CapturedState()
            s.run("""
            local t = {zeta = 1, alpha = 2, [3] = 'c', mid = 3, 10, 20}
            for k, v in pairs(t) do print(k, v) end
            print({}, print, {}, math.random(1, 1000000))
            """)
            return s.text
        }
        let a = try transcript()
        #expect(a == (try transcript()))
        #expect(a.hasPrefix("1\t10\n2\t20\n3\tc\nalpha\t2\nmid\t3\nzeta\t1\ntable: 0x00000001\tfunction: 0x00000002\ttable: 0x00000003\t"))
    }

    @Test func printPropagatesTostringErrors() throws {
        let s = try CapturedState()
        let v = s.values("return pcall(print, setmetatable({}, {__tostring = function() error('lying') end}))")
        #expect(v.first == .boolean(false))
        #expect(v.last?.text?.contains("lying") == true)
    }

    @Test func errorObjectWithBadTostringIsDescribedSafely() throws {
        let s = try CapturedState()
        let f = try #require(s.failure("error(setmetatable({}, {__tostring = function() error('again') end}))"))
        #expect(f.kind == .error)
        #expect(f.message == "(error object is a table value)")
    }
}
