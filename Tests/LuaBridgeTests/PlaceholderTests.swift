import Testing

@Test func placeholder_LuaBridgeTests() { #expect(1 + 1 == 2) }
