import CLua

/// The type of a Lua value, as `lua_type` reports it, for code outside
/// LuaBridge that must not see Lua's C constants.
public enum LuaType: Int32, Sendable {
    /// An index past the top of the stack (an absent argument).
    case none = -1
    case `nil` = 0, boolean = 1, lightUserdata = 2, number = 3, string = 4
    case table = 5, function = 6, userdata = 7, thread = 8

    /// Lua's own name for the type, as `type()` and error messages print it.
    public var name: String {
        switch self {
        case .none: return "no value"
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .lightUserdata, .userdata: return "userdata"
        case .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        case .thread: return "thread"
        }
    }
}

extension LuaCall {
    /// The type of argument (or stack slot) `i`; `.none` past the top.
    @inlinable public func kind(_ i: Int32) -> LuaType {
        LuaType(rawValue: type(i)) ?? .none
    }

    /// Whether slot `i` holds an integer (a float, even 2.0, is not one).
    @inlinable @inline(__always) public func isInteger(_ i: Int32) -> Bool { lua_isinteger(L, i) != 0 }

    /// The integer in slot `i`, which `isInteger(i)` has said is one.
    /// (The pair is the kernel API's fast path, kfree's: no optional, no
    /// error path, inlined to the two C calls it was.)
    @inlinable @inline(__always) public func uncheckedInteger(_ i: Int32) -> Int64 { kmlab_tointeger(L, i) }

    /// Sets the number of values on the stack, as `lua_settop` does: absent
    /// arguments up to `n` become nil, values above `n` are dropped.
    public func setArgumentCount(_ n: Int32) { lua_settop(L, max(0, n)) }
}

extension LuaValue {
    /// Lua's name of the value's type ("string", "table", ...), as
    /// `type()` prints it. An elided table is a table.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table, .elided: return "table"
        case .function: return "function"
        case .userdata: return "userdata"
        case .thread: return "thread"
        }
    }
}

extension LuaState {
    /// The value at `index` without looking inside it: numbers, booleans
    /// and strings copied, a table as `.elided("table")`, a userdata as
    /// `.userdata("userdata")`. Runs no code (no `__tostring`, no
    /// `__index`), so it is safe on a learner's values at any time.
    public func shallowValue(at index: Int32, on thread: OpaquePointer? = nil) -> LuaValue {
        let T = thread ?? L
        switch lua_type(T, index) {
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(T, index) != 0)
        case LUA_TNUMBER:
            return lua_isinteger(T, index) != 0 ? .integer(kmlab_tointeger(T, index)) : .number(kmlab_tonumber(T, index))
        case LUA_TSTRING: return .string(bytes(at: index, on: T) ?? [])
        case LUA_TTABLE: return .elided("table")
        case LUA_TFUNCTION: return .function
        case LUA_TTHREAD: return .thread
        case LUA_TUSERDATA, LUA_TLIGHTUSERDATA: return .userdata("userdata")
        default: return .nil
        }
    }
}

extension LuaValue {
    /// How the value looks in an error message, as `LuaCall.describe`
    /// shows an argument: a number itself, anything else its type name.
    public var argumentDescription: String {
        switch self {
        case .integer(let i): return String(i)
        case .number(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            return "\(d)"
        default: return typeName
        }
    }
}
