import CLua

/// An argument the host passes to a Lua callback.
public enum LuaCallbackArgument {
    case integer(Int64)
    /// A value kept in the registry (the `data` a script gave with the callback).
    case reference(LuaReference)
}

/// The Lua stack had no room for a callback's arguments and results.
public struct LuaStackExhausted: Error {}

extension LuaState {
    /// Calls the Lua function `ref` with `arguments` on the thread now
    /// running (a callback made inside a coroutine runs on it), protected
    /// and under the budgets, and returns up to `results` results. Results
    /// are read without copying what the host never reads: a table comes
    /// back as an empty `.table`, a string cut to its first 64 bytes, so a
    /// handler returning something huge costs nothing. `keepFirst` gets the
    /// first result as a registry reference (whatever its type) before the
    /// stack is reset. Throws the `LuaFailure` when the function fails,
    /// `LuaStackExhausted` when there is no room to call it. The stack is
    /// left as it was.
    public func callback(_ ref: LuaReference, arguments: [LuaCallbackArgument], results: Int32,
                         keepFirst: ((LuaReference) -> Void)? = nil) throws -> [LuaValue] {
        let T = currentThread
        let top = lua_gettop(T)
        guard results >= 0, lua_checkstack(T, Int32(clamping: arguments.count) &+ results &+ 4) != 0 else {
            throw LuaStackExhausted()
        }
        push(ref, on: T)
        for a in arguments {
            switch a {
            case .integer(let v): lua_pushinteger(T, v)
            case .reference(let r): push(r, on: T)
            }
        }
        if let failure = protectedCall(on: T, arguments: Int32(arguments.count), results: results) {
            lua_settop(T, top)
            throw failure
        }
        var values: [LuaValue] = []
        let n = lua_gettop(T)
        if let keepFirst, n > top { keepFirst(reference(at: top + 1, on: T)) }
        if n > top { for i in (top + 1)...n { values.append(callbackResult(T, i)) } }
        lua_settop(T, top)
        return values
    }

    private func callbackResult(_ T: OpaquePointer, _ i: Int32) -> LuaValue {
        switch lua_type(T, i) {
        case LUA_TNIL: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(T, i) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(T, i) != 0 { return .integer(lua_tointegerx(T, i, nil)) }
            return .number(lua_tonumberx(T, i, nil))
        case LUA_TSTRING:
            var len = 0
            guard let p = lua_tolstring(T, i, &len) else { return .string([]) }
            return .string(Array(UnsafeRawBufferPointer(start: p, count: min(len, 64))))
        case LUA_TTABLE: return .table([])
        case LUA_TFUNCTION: return .function
        case LUA_TTHREAD: return .thread
        default: return .userdata(String(cString: lua_typename(T, lua_type(T, i))))
        }
    }
}
