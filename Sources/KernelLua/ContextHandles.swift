import KernelSim
import LuaBridge

/// A handle (a lock, a device) as a Lua value: a full userdata holding an
/// index into the glue's table of the machine it was made on, and that
/// machine's generation (plain data: the userdata's payload).
struct HandleValue {
    var id: Int64
    var generation: Int64

    static func push(_ h: HandleValue, metatable: String, on call: LuaCall) {
        call.pushUserdata(h, of: LuaObjectType(key: metatable))
    }

    static func read(_ call: LuaCall, _ index: Int32, metatable: String) -> HandleValue? {
        call.userdata(index, of: LuaObjectType(key: metatable), as: HandleValue.self)
    }
}

extension ContextGlue {
    /// Creates a metatable for handles with `__name`, `__tostring`, and
    /// optionally an `__index` function.
    func makeHandleMetatable(_ name: String, typeName: String, tostring: @escaping (LuaCall, HandleValue) -> String,
                             index: LuaFunction? = nil) {
        lua.declare(LuaObjectType(key: name), typeName: typeName) { meta in
            meta.define("__tostring", named: "tostring") { call in
                guard let h = HandleValue.read(call, 1, metatable: name) else { return 0 }
                call.push(tostring(call, h))
                return 1
            }
            if let index { meta.define("__index", named: typeName, index) }
        }
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
