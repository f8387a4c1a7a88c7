import CLua

/// Reading what a script has defined without running any of its code: the
/// REPL's completer and the lesson names check walk tables raw (no `__index`
/// or `__pairs` runs), with a limit on how many keys they look at, and leave
/// the stack as they found it.
extension LuaState {
    /// The string keys of the table at `path` (dotted, from the globals;
    /// nil: the globals themselves), read raw; for a value whose metatable
    /// has a table `__index` (a device, a page), that table's keys too (the
    /// methods `dev:` completes). At most `limit` keys of each table are
    /// looked at. `functionsOnly` keeps the keys whose value is a function.
    public func fieldNames(ofPath path: String?, functionsOnly: Bool, limit: Int = 10_000) -> [String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard lua_checkstack(L, 8) != 0 else { return [] }
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        if let path {
            for part in path.split(separator: ".", omittingEmptySubsequences: false) {
                guard !part.isEmpty, lua_type(L, -1) == LUA_TTABLE else { return [] }
                lua_pushstring(L, String(part))
                lua_rawget(L, -2)
                kmlab_remove(L, -2)
            }
        }
        var names: [String] = []
        collectKeys(functionsOnly: functionsOnly, limit: limit) { names.append($0) }
        if lua_getmetatable(L, -1) != 0 {
            lua_pushstring(L, "__index")
            lua_rawget(L, -2)
            collectKeys(functionsOnly: functionsOnly, limit: limit) { names.append($0) }
        }
        return names
    }

    /// Every global name, and `name.field` for each string key of a global
    /// table (one level, raw; `_G` itself skipped): what a script can call.
    public func globalNamesWithFields(limit: Int = 100_000) -> Set<String> {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard lua_checkstack(L, 8) != 0 else { return [] }
        var out: Set<String> = []
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        let globals = lua_gettop(L)
        var budget = limit
        lua_pushnil(L)
        while lua_next(L, globals) != 0 {
            budget -= 1
            if lua_type(L, -2) == LUA_TSTRING, let key = string(at: -2) {
                out.insert(key)
                if lua_type(L, -1) == LUA_TTABLE, key != "_G" {
                    collectKeys(functionsOnly: false, limit: budget) { out.insert(key + "." + $0) }
                }
            }
            kmlab_pop(L, 1)
            if budget <= 0 { break }
        }
        return out
    }

    /// Calls `found` with each string key of the table on top of the stack
    /// (if it is one), raw, at most `limit` of them.
    private func collectKeys(functionsOnly: Bool, limit: Int, _ found: (String) -> Void) {
        guard lua_type(L, -1) == LUA_TTABLE, lua_checkstack(L, 4) != 0 else { return }
        let t = lua_absindex(L, -1)
        lua_pushnil(L)
        var budget = limit
        while lua_next(L, t) != 0 {
            budget -= 1
            if lua_type(L, -2) == LUA_TSTRING, !functionsOnly || lua_type(L, -1) == LUA_TFUNCTION,
               let key = string(at: -2) {
                found(key)
            }
            kmlab_pop(L, 1)
            if budget <= 0 { kmlab_pop(L, 1); break }
        }
    }
}

/// The values a REPL prints: how many results a chunk left, and how each
/// one shows itself.
extension LuaState {
    /// The Lua release kmlab runs (`LUA_RELEASE`, e.g. "Lua 5.4.6").
    public static var release: String { String(cString: kmlab_version()) }

    /// The index of the top of the stack (`lua_gettop`).
    public var stackTop: Int32 { lua_gettop(L) }

    /// Drops everything above `index` (`lua_settop`).
    public func setStackTop(_ index: Int32) { lua_settop(L, index) }

    /// `LUA_MULTRET`: all of a call's results.
    public static var allResults: Int32 { LUA_MULTRET }

    /// Whether the value at `index` prints through `tostring` rather than as
    /// data: a function or thread, or a table or userdata whose metatable
    /// has `__tostring` (read raw, as `luaL_getmetafield` does).
    public func printsThroughToString(at index: Int32) -> Bool {
        let t = lua_type(L, index)
        if t == LUA_TFUNCTION || t == LUA_TTHREAD { return true }
        guard t == LUA_TTABLE || t == LUA_TUSERDATA else { return false }
        guard luaL_getmetafield(L, index, "__tostring") != LUA_TNIL else { return false }
        kmlab_pop(L, 1)
        return true
    }
}
