import CLua
import LuaBridge

/// Names of Lua functions the kernel calls back (handlers, tasklets, work,
/// syscalls): Lua cannot name a function called from C, so the Call Trace
/// of a report inside a handler would say `<anonymous>`. The glue records
/// each callback's name in a registry table with weak keys; `LuaStack`
/// looks nameless frames up there.
enum CallbackNames {
    /// The registry key of the table (a light userdata: no string to intern).
    nonisolated(unsafe) static let key = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Records `name` for the function at `index` of `L`.
    static func record(_ L: OpaquePointer, function index: Int32, name: String) {
        let i = lua_absindex(L, index)
        guard lua_checkstack(L, 4) != 0 else { return }
        if lua_rawgetp(L, kmlab_registryindex(), key) != LUA_TTABLE {
            kmlab_pop(L, 1)
            kmlab_newtable(L)
            kmlab_newtable(L)
            lua_pushstring(L, "__mode")
            lua_pushstring(L, "k")
            lua_rawset(L, -3)
            lua_setmetatable(L, -2)
            lua_pushvalue(L, -1)
            lua_rawsetp(L, kmlab_registryindex(), key)
        }
        lua_pushvalue(L, i)
        lua_pushstring(L, name)
        lua_rawset(L, -3)
        kmlab_pop(L, 1)
    }

    /// The recorded name of the function running at activation `ar` of `T`.
    static func lookup(_ T: OpaquePointer, _ ar: inout lua_Debug) -> String? {
        guard lua_checkstack(T, 3) != 0, lua_getinfo(T, "f", &ar) != 0 else { return nil }
        defer { kmlab_pop(T, 2) }
        guard lua_rawgetp(T, kmlab_registryindex(), key) == LUA_TTABLE else { return nil }
        lua_pushvalue(T, -2)
        let found = lua_rawget(T, -2) == LUA_TSTRING ? lua_tolstring(T, -1, nil).map { String(cString: $0) } : nil
        kmlab_pop(T, 1)
        return found
    }
}
