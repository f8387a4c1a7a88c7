import Testing
@testable import LuaBridge

@Suite struct ValueTests {
    @Test func valuesCrossBothWays() throws {
        let s = try CapturedState()
        let v = s.values("return 1, 2.5, 'hi', true, nil, {1, 2, x = {y = 'z'}}")
        #expect(v[0] == .integer(1))
        #expect(v[1] == .number(2.5))
        #expect(v[2] == .string("hi"))
        #expect(v[3] == .boolean(true))
        #expect(v[4] == .nil)
        #expect(v[5]["x"]?["y"] == .string("z"))
        s.lua.setGlobal("given") { $0.push(v[5]) }
        #expect(s.values("return given[2], given.x.y") == [.integer(2), .string("z")])
    }

    @Test func cyclesAndDepthAreCut() throws {
        let s = try CapturedState()
        let v = s.values("local t = {} t.self = t return t")
        #expect(v.first?["self"] == .elided("cycle"))
        #expect(LuaPrinter().render(v[0]) == "{self = <cycle>}")
    }

    @Test func printerRendersReadably() {
        let p = LuaPrinter()
        let t: LuaValue = .table([
            LuaTableEntry(key: .integer(1), value: .integer(10)),
            LuaTableEntry(key: .integer(2), value: .string("a\"b\n")),
            LuaTableEntry(key: .string("name"), value: .boolean(true)),
            LuaTableEntry(key: .string("end"), value: .number(1.0)),
        ])
        #expect(p.render(t) == #"{10, "a\"b\n", name = true, ["end"] = 1.0}"#)
        var hex = LuaPrinter()
        hex.formatInteger = { "0x" + String(UInt64(bitPattern: $0), radix: 16) }
        #expect(hex.render(.integer(-1073741824)) == "0xffffffffc0000000")
    }

    @Test func byteSizesParse() {
        #expect(parseByteSize("4096") == 4096)
        #expect(parseByteSize("64K") == 65536)
        #expect(parseByteSize("256M") == 256 << 20)
        #expect(parseByteSize("1G") == 1 << 30)
        #expect(parseByteSize("12Q") == nil)
        #expect(parseByteSize("") == nil)
        #expect(parseByteSize("-1M") == nil)
        #expect(parseByteSize("99999999999999999999G") == nil)
    }
}
