import Testing

@Test func placeholder_KmlabCLITests() { #expect(1 + 1 == 2) }
