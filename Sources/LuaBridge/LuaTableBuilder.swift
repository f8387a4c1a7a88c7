import CLua

/// Fills a new Lua table (the one a Swift function returns: a report, a
/// task, a list of reports) without stack code: fields, array elements,
/// and values pushed by the caller (a nested table, a function, a handle).
/// Every set is raw: the table is new and has no metatable yet.
public struct LuaTableBuilder {
    /// The thread the table is on (push nested values on this one).
    public let L: OpaquePointer
    public unowned(unsafe) let state: LuaState
    /// The table's absolute stack index.
    let table: Int32

    /// `t[key] = value`.
    public func set(_ key: String, _ value: LuaValue) {
        state.pushName(key, on: L)
        state.push(value, on: L)
        lua_rawset(L, table)
    }

    public func set(_ key: String, _ value: Int64) { set(key) { lua_pushinteger(L, value) } }
    public func set(_ key: String, _ value: Int) { set(key) { lua_pushinteger(L, lua_Integer(value)) } }
    public func set(_ key: String, _ value: String) { set(key) { state.pushName(value, on: L) } }
    public func set(_ key: String, _ value: Bool) { set(key) { lua_pushboolean(L, value ? 1 : 0) } }
    public func set(_ key: String, _ value: Double) { set(key) { lua_pushnumber(L, value) } }

    /// `t[key] =` the one value `push` pushes on `L` (nil if it pushes none;
    /// extra values are dropped).
    public func set(_ key: String, pushedBy push: () throws -> Void) rethrows {
        state.pushName(key, on: L)
        try pushOne(push)
        lua_rawset(L, table)
    }

    /// `t[n] =` the one value `push` pushes (an array element).
    public func set(_ n: Int, pushedBy push: () throws -> Void) rethrows {
        try pushOne(push)
        lua_rawseti(L, table, lua_Integer(n))
    }

    public func set(_ n: Int, _ value: LuaValue) { set(n) { state.push(value, on: L) } }

    private func pushOne(_ push: () throws -> Void) rethrows {
        let top = lua_gettop(L)
        try push()
        let pushed = lua_gettop(L) - top
        if pushed == 0 { lua_pushnil(L) } else if pushed > 1 { lua_settop(L, top + 1) }
    }
}

extension LuaCall {
    /// Pushes a new table filled by `fill` (one result). `arrayCount` and
    /// `fieldCount` are size hints, as `lua_createtable`'s.
    public func pushTable(arrayCount: Int = 0, fieldCount: Int = 0, _ fill: (LuaTableBuilder) throws -> Void) rethrows {
        lua_createtable(L, Int32(clamping: arrayCount), Int32(clamping: fieldCount))
        try fill(LuaTableBuilder(L: L, state: state, table: lua_gettop(L)))
    }
}

extension LuaState {
    /// Adds fields to the global table `name` (set up by trusted code, such
    /// as `user`); does nothing if that global is not a table.
    public func updateGlobalTable(_ name: String, _ fill: (LuaTableBuilder) -> Void) {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        pushGlobal(name)
        guard lua_type(L, -1) == LUA_TTABLE else { return }
        fill(LuaTableBuilder(L: L, state: self, table: lua_gettop(L)))
    }

    /// Sets the global `name` to a plain value (a constant).
    public func setGlobal(_ name: String, _ value: LuaValue) {
        setGlobal(name) { $0.push(value) }
    }
}
