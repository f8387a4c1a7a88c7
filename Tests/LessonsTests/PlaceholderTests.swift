import Testing

@Test func placeholder_LessonsTests() { #expect(1 + 1 == 2) }
