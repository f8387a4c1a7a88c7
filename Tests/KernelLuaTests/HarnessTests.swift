import Testing
import LuaBridge

/// The harness itself: a snippet sees the kernel API and its output is captured.
@Suite struct HarnessTests {
    @Test func aSnippetSeesTheKernelAPIAndPrints() throws {
        let h = try KernelHarness()
        let v = h.values("local p = kmalloc(100, GFP_KERNEL); print(ksize(p)); kfree(p); return PAGE_SIZE")
        #expect(v == [.integer(4096)])
        #expect(h.printed == "128\n")
    }

    @Test func aBadArgumentIsAnErrorNamingFunctionAndArgument() throws {
        let h = try KernelHarness()
        let m = h.errorMessage("kmalloc('x', GFP_KERNEL)")
        #expect(m?.contains("kmalloc") == true)
        #expect(m?.contains("size") == true)
    }
}

/// help(name) pages are wrapped at word boundaries for an 80-column terminal.
@Suite struct APIDocWrapTests {
    @Test func helpPagesWrapAtWordsWithinTheWidth() throws {
        let h = try KernelHarness()
        let text = try #require(h.env.helpText(for: "kmalloc"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 78 })
        #expect(text.contains("kmalloc-8 ... kmalloc-8k"))
        #expect(lines.prefix(3) == ["kmalloc", "=======", "kmalloc(size, flags) -> address | nil"])
    }
}
