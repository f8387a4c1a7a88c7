import Testing

@Test func placeholder_KernelSimTests() { #expect(1 + 1 == 2) }
