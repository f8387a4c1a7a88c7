import CLua

/// Reading a table a script passed in, raw (no `__index`, `__pairs` or
/// `__newindex` of the script's runs) and leaving the stack as it was:
/// option tables (`pci_device{...}`, `memmap{...}`) and lists of records.
extension LuaCall {
    /// `t[key]` of the table in slot `i`, read raw, shallow (see
    /// `LuaState.shallowValue`): nil when slot `i` is not a table.
    public func rawFieldValue(_ i: Int32, _ key: String) -> LuaValue {
        guard lua_type(L, i) == LUA_TTABLE else { return .nil }
        _ = rawField(i, key)
        defer { kmlab_pop(L, 1) }
        return state.shallowValue(at: -1, on: L)
    }

    /// `t[n]` of the table in slot `i`, read raw, shallow.
    public func rawElementValue(_ i: Int32, _ n: Int64) -> LuaValue {
        guard lua_type(L, i) == LUA_TTABLE else { return .nil }
        lua_rawgeti(L, i, n)
        defer { kmlab_pop(L, 1) }
        return state.shallowValue(at: -1, on: L)
    }

    /// Calls `body` with each key of the table in slot `i` (shallow, in
    /// `lua_next`'s order), at most `limit` keys; `body` returns false to
    /// stop. Returns whether every key was seen. The stack is restored
    /// whatever `body` does, a throw included.
    @discardableResult
    public func forEachRawKey(ofTable i: Int32, limit: Int, _ body: (LuaValue) throws -> Bool) rethrows -> Bool {
        guard lua_type(L, i) == LUA_TTABLE, lua_checkstack(L, 4) != 0 else { return true }
        let t = lua_absindex(L, i), top = lua_gettop(L)
        defer { lua_settop(L, top) }
        var left = limit
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            kmlab_pop(L, 1)
            guard left > 0 else { return false }
            left -= 1
            guard try body(state.shallowValue(at: -1, on: L)) else { return false }
        }
        return true
    }
}
