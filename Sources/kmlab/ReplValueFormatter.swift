import KernelLua
import KernelSim
import LuaBridge

/// How the REPL shows the values an expression returns.
///
/// Integers: addresses are plain Lua integers (DESIGN.md), so the REPL
/// guesses from the value. An integer in the kernel half of the current
/// machine's address space (PAGE_OFFSET and up on x86_32, the upper
/// canonical half on x86_64, where it is negative as a signed integer) is a
/// kernel virtual address and prints in hex only, as `%px` would:
/// `0xc1a2b000`. Any other integer prints in decimal; a lone result of 65536
/// or more also gets its hex form as a Lua comment (`134512640  -- 0x8048000`),
/// which covers user and physical addresses without changing what a copy
/// and paste of the value means.
///
/// Values with a `__tostring` (pages, kernel reports) print as their
/// tostring: `page{pfn=0x1a2b, zone=Normal, owner=slab kmalloc-128}`.
/// Tables print with nesting; cycles show as `<cycle>`.
struct ReplValueFormatter {
    let machine: Machine
    let style: ReplStyle

    func isKernelAddress(_ v: Int64) -> Bool {
        let u = UInt64(bitPattern: v)
        if machine.layout.pointerSize == 4 { return u >= machine.layout.pageOffset && u <= 0xFFFF_FFFF }
        return u >= 0xFFFF_8000_0000_0000
    }

    var printer: LuaPrinter {
        var p = LuaPrinter()
        p.formatInteger = { v in
            if isKernelAddress(v) { return "0x" + String(UInt64(bitPattern: v), radix: 16) }
            return String(v)
        }
        return p
    }

    /// The results at stack indices `first...last`, as one line (tab-separated).
    func render(_ lua: LuaState, from first: Int32, to last: Int32) -> String {
        guard first <= last else { return "" }
        var parts: [String] = []
        for i in first...last { parts.append(render(lua, at: i, alone: first == last)) }
        return parts.joined(separator: "\t")
    }

    func render(_ lua: LuaState, at index: Int32, alone: Bool) -> String {
        if lua.printsThroughToString(at: index) { return lua.safeToString(at: index) }
        let value = lua.value(at: index)
        if case .integer(let v) = value, alone, !isKernelAddress(v), v >= 0x10000 {
            return String(v) + style.out("  -- 0x" + String(v, radix: 16), ReplStyle.dim)
        }
        if case .string = value { return printer.render(value) }
        return printer.render(value)
    }
}
