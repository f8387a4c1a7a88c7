import Testing

@Test func placeholder_KernelLuaTests() { #expect(1 + 1 == 2) }
