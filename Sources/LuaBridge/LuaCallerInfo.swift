import CLua

extension LuaCall {
    /// Where the Lua code `level` frames up the call's stack is (1: the
    /// function that called this Swift function): its chunk's short name
    /// and current line (-1 for a C function), as `lua_getinfo("Sl")`
    /// reports them; nil past the bottom of the stack.
    public func callerPosition(level: Int32 = 1) -> (source: String, line: Int)? {
        var ar = lua_Debug()
        guard lua_getstack(L, level, &ar) != 0, lua_getinfo(L, "Sl", &ar) != 0 else { return nil }
        let source = withUnsafeBytes(of: ar.short_src) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return (source, Int(ar.currentline))
    }
}
