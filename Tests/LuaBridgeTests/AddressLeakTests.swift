import Testing
@testable import LuaBridge

/// Nothing a script can print shows a host address: every path from an
/// object to text gives its deterministic number instead.
@Suite struct AddressLeakTests {
    @Test(arguments: [LuaProfile.sandbox, .trusted])
    func objectsPrintAsNumbersOnEveryPath(profile: LuaProfile) throws {
        let s = try CapturedState(profile: profile)
        s.run("""
        local t, f, co = {}, function() end, coroutine.create(function() end)
        local named = setmetatable({}, {__name = "Widget"})
        print(t, f, co, named)
        print(string.format("%p %p %s %s %10p|%-12p|", t, f, t, co, t, f))
        print(string.format("%s %s", print, named), tostring(string.rep))
        print(string.format("%p %p %p", 1, nil, true))
        print(string.format("%p", "some string") == string.format("%p", "some string"))
        local ok, e = pcall(error, named)
        print(tostring(e))
        """)
        let lines = s.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        #expect(lines.first == "table: 0x00000001\tfunction: 0x00000002\tthread: 0x00000003\tWidget: 0x00000004")
        #expect(lines.dropFirst().first == "0x00000001 0x00000002 table: 0x00000001 thread: 0x00000003 0x00000001|0x00000002  |")
        #expect(lines.dropFirst(2).first == "function: 0x00000005 Widget: 0x00000004\tfunction: 0x00000006")
        #expect(lines.dropFirst(3).first == "(null) (null) (null)")
        #expect(lines.dropFirst(4).first == "true")
        #expect(lines.last == "Widget: 0x00000004")
        #expect(!s.text.contains("0x5"), "an address leaked: \(s.text)")
    }

    @Test func sandboxClockIsSimulated() throws {
        let s = try CapturedState()
        let v = s.values("local a = os.clock() for i = 1, 1e5 do end local b = os.clock() return a, b")
        #expect(v == [.number(1e-6), .number(2e-6)])
    }
}
