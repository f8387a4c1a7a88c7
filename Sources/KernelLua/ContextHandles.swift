import CLua
import KernelSim
import LuaBridge

/// A handle (a lock, a device) as a Lua value: a full userdata holding an
/// index into the glue's table of the machine it was made on, and that
/// machine's generation.
struct HandleValue {
    var id: Int64
    var generation: Int64

    static func push(_ h: HandleValue, metatable: String, on call: LuaCall) {
        guard let raw = kmlab_newuserdata(call.L, 2 * MemoryLayout<Int64>.size) else { call.pushNil(); return }
        raw.storeBytes(of: h.id, as: Int64.self)
        raw.storeBytes(of: h.generation, toByteOffset: MemoryLayout<Int64>.size, as: Int64.self)
        _ = kmlab_getmetatable_registry(call.L, metatable)
        lua_setmetatable(call.L, -2)
    }

    static func read(_ call: LuaCall, _ index: Int32, metatable: String) -> HandleValue? {
        guard call.type(index) == LUA_TUSERDATA, let raw = luaL_testudata(call.L, index, metatable) else { return nil }
        return HandleValue(id: raw.load(as: Int64.self),
                           generation: raw.load(fromByteOffset: MemoryLayout<Int64>.size, as: Int64.self))
    }
}

extension ContextGlue {
    /// Creates a metatable for handles with `__name`, `__tostring`, and
    /// optionally an `__index` function.
    func makeHandleMetatable(_ name: String, typeName: String, tostring: @escaping (LuaCall, HandleValue) -> String,
                             index: LuaFunction? = nil) {
        let L = lua.L
        luaL_newmetatable(L, name)
        lua_pushstring(L, "__name")
        lua_pushstring(L, typeName)
        lua_rawset(L, -3)
        lua_pushstring(L, "__tostring")
        lua.pushFunction(named: "tostring") { call in
            guard let h = HandleValue.read(call, 1, metatable: name) else { return 0 }
            call.push(tostring(call, h))
            return 1
        }
        lua_rawset(L, -3)
        if let index {
            lua_pushstring(L, "__index")
            lua.pushFunction(named: typeName, index)
            lua_rawset(L, -3)
        }
        lua_pushstring(L, "__metatable")
        lua_pushstring(L, typeName)
        lua_rawset(L, -3)
        kmlab_pop(L, 1)
    }

    /// The object behind handle argument `i`, or an error naming the function,
    /// the argument and what was expected.
    func object<T>(_ call: LuaCall, _ i: Int32, _ argName: String, metatable: String, expected: String,
                   in table: [T]) throws -> T {
        guard let h = HandleValue.read(call, i, metatable: metatable) else {
            throw call.argumentError(i, argName, expected)
        }
        guard h.generation == generation else {
            throw call.error("\(argName) belongs to a machine that boot{} has replaced; make a new one")
        }
        guard h.id >= 0, h.id < Int64(table.count) else { throw call.argumentError(i, argName, expected) }
        return table[Int(h.id)]
    }
}
