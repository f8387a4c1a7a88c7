import Testing
import KernelSim

/// nil is the C NULL: a failed allocation used without a check is the
/// kernel's NULL-pointer Oops (arch/x86/mm/fault.c page_fault_oops), not a
/// Lua argument error, wherever the kernel would dereference the pointer.
@Suite struct NullPointerTests {
    @Test(arguments: ["memset(nil, 0, 16)", "poke(nil, 'x')", "peek(nil)", "memcpy(nil, kmalloc(8, GFP_KERNEL), 8)",
                      "memcmp(kmalloc(8, GFP_KERNEL), nil, 8)"])
    func nilIsDereferencedAsNull(call: String) throws {
        let h = try KernelHarness()
        let m = try #require(h.errorMessage(call))
        #expect(m.contains("BUG: kernel NULL pointer dereference, address: 00000000"), "\(m)")
        #expect(h.reports.last?.severity == .oops)
    }

    @Test func anUncheckedFailedKmallocEndsInTheOops() throws {
        let h = try KernelHarness()
        let m = try #require(h.errorMessage("""
            local p = kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN)
            assert(p == nil)
            memset(p, 0, 64)
            """))
        #expect(m.contains("BUG: kernel NULL pointer dereference"))
        #expect(m.contains("#PF: supervisor write access in kernel mode"))
    }
}
