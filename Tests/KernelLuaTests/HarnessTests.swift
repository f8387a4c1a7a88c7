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
