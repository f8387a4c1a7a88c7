import Testing
import KernelLua
import KernelSim
import LuaBridge

/// user.pagemap: nil until a page is touched, then the frame behind it.
@Suite struct PagemapLuaTests {
    @Test func untouchedPagesHaveNoFrameAndTouchedOnesDo() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local p = user.malloc(3 * PAGE_SIZE)
            local before = user.pagemap(p)
            user.poke(p, 1)
            user.poke(p + 2 * PAGE_SIZE, 1)
            local a, b, c = user.pagemap(p), user.pagemap(p + PAGE_SIZE), user.pagemap(p + 2 * PAGE_SIZE + 5)
            return before, a.present, b, c.present, a.pfn ~= c.pfn, user.pagemap(16)
            """)
        #expect(v == [.nil, .boolean(true), .nil, .boolean(true), .boolean(true), .nil])
    }

    @Test func thePfnIsTheFrameThatHoldsTheBytes() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local p = user.malloc(PAGE_SIZE)
            user.poke(p + 8, "pagemap!")
            local e = user.pagemap(p)
            local page = pfn_to_page(e.pfn)
            local k = kmap(page)
            local s = peek(k + 8, 8)
            kunmap(page)
            return s
            """)
        #expect(v == [.string("pagemap!")])
    }

    @Test func aBadAddressArgumentIsAClearError() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("user.pagemap('x')")?.contains("addr") == true)
    }
}
