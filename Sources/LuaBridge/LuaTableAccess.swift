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

extension LuaCall {
    /// `#t` of the table in slot `i`, raw (no `__len`); 0 if not a table.
    public func rawLength(_ i: Int32) -> Int {
        lua_type(L, i) == LUA_TTABLE ? Int(clamping: lua_rawlen(L, i)) : 0
    }

    /// Runs `body` with `t[n]` of the table in slot `i` (read raw) in a
    /// stack slot it is given, then drops it (a throw included): for
    /// records inside a list (`sgl[i].page`).
    public func withRawElement<R>(_ i: Int32, _ n: Int64, _ body: (Int32) throws -> R) rethrows -> R {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if lua_type(L, i) == LUA_TTABLE { lua_rawgeti(L, i, n) } else { lua_pushnil(L) }
        return try body(lua_gettop(L))
    }

    /// `withRawElement` for `t[key]`.
    public func withRawField<R>(_ i: Int32, _ key: String, _ body: (Int32) throws -> R) rethrows -> R {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if lua_type(L, i) == LUA_TTABLE { _ = rawField(i, key) } else { lua_pushnil(L) }
        return try body(lua_gettop(L))
    }

    /// Sets fields of the table in slot `i` (raw: a script's `__newindex`
    /// does not run): results written back into a table the script passed.
    public func updateTable(_ i: Int32, _ fill: (LuaTableBuilder) -> Void) {
        guard lua_type(L, i) == LUA_TTABLE else { return }
        fill(LuaTableBuilder(L: L, state: state, table: lua_absindex(L, i)))
    }

    /// Whether the global `name` (with `field`: the global table `name`'s
    /// field) is the very value in slot `i`, all read raw.
    public func globalIs(_ name: String, field: String? = nil, sameAs i: Int32) -> Bool {
        let target = lua_absindex(L, i), top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        state.pushName(name, on: L)
        lua_rawget(L, -2)
        if let field {
            guard lua_type(L, -1) == LUA_TTABLE else { return false }
            state.pushName(field, on: L)
            lua_rawget(L, -2)
        }
        return lua_rawequal(L, -1, target) != 0
    }
}
