import CLua

extension LuaState {
    /// Every integer reachable from the global table through table keys and
    /// values (raw access: no metamethod runs), skipping the globals named in
    /// `skipping`. A leak checker uses them as roots, the way kmemleak scans a
    /// module's data: an address a script still holds in a global is not lost.
    ///
    /// Bounded by `limit` entries visited, so a huge or cyclic structure costs
    /// at most that much; each table is visited once.
    public func reachableIntegers(skipping: Set<String>, limit: Int = 1_000_000) -> [Int64] {
        var found: [Int64] = []
        var seen = Set<UnsafeRawPointer>()
        var budget = limit
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        guard let globals = lua_topointer(L, -1) else { return [] }
        seen.insert(globals)
        // Tables still to scan live on the Lua stack (absolute slots), so nothing is allocated for them.
        var pending: [Int32] = [lua_gettop(L)]
        var isGlobals = true
        while let index = pending.popLast() {
            lua_pushnil(L)
            while budget > 0, lua_next(L, index) != 0 {
                budget -= 1
                // Stack: ... key value
                if isGlobals, lua_type(L, -2) == LUA_TSTRING, let k = lua_tolstring(L, -2, nil),
                   skipping.contains(String(cString: k)) {
                    kmlab_pop(L, 1)
                    continue
                }
                for slot in [Int32(-2), -1] {
                    if lua_isinteger(L, slot) != 0 { found.append(lua_tointegerx(L, slot, nil)) }
                }
                if lua_type(L, -1) == LUA_TTABLE, let p = lua_topointer(L, -1), !seen.contains(p),
                   lua_checkstack(L, 4) != 0 {
                    seen.insert(p)
                    // Park a copy below the key/value pair, so lua_next keeps working; it stays there.
                    lua_pushvalue(L, -1)
                    kmlab_insert(L, -3)
                    pending.append(lua_gettop(L) - 2)
                }
                kmlab_pop(L, 1)
            }
            isGlobals = false
        }
        return found
    }
}
