import CLua

/// A Lua value copied into Swift. Tables are snapshots (keys and values),
/// functions, threads and userdata are described, not copied.
public enum LuaValue: Equatable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    /// Bytes, embedded NULs included.
    case string([UInt8])
    /// Array part first (1...n), then the other keys in a deterministic order.
    case table([LuaTableEntry])
    case function
    case userdata(String)
    case thread
    /// A table already being copied (a cycle) or copied too deep.
    case elided(String)

    public static func string(_ s: String) -> LuaValue { .string(Array(s.utf8)) }

    /// The string's text, if this is a string.
    public var text: String? {
        if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }

    public var integerValue: Int64? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return Int64(exactly: d)
        default: return nil
        }
    }

    /// `t[key]` for a table snapshot.
    public subscript(key: LuaValue) -> LuaValue? {
        guard case .table(let entries) = self else { return nil }
        return entries.first(where: { $0.key == key })?.value
    }

    public subscript(field: String) -> LuaValue? { self[.string(field)] }
}

public struct LuaTableEntry: Equatable, Sendable {
    public var key: LuaValue
    public var value: LuaValue
    public init(key: LuaValue, value: LuaValue) { self.key = key; self.value = value }
}

extension LuaState {
    /// Pushes a Swift value (tables are created from their entries).
    public func push(_ value: LuaValue, on thread: OpaquePointer? = nil) {
        let T = thread ?? L
        switch value {
        case .nil, .function, .thread, .elided: lua_pushnil(T)
        case .boolean(let b): lua_pushboolean(T, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(T, i)
        case .number(let d): lua_pushnumber(T, d)
        case .string(let bytes):
            bytes.withUnsafeBufferPointer { buf in
                buf.baseAddress?.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                    _ = lua_pushlstring(T, $0, buf.count)
                } ?? { _ = lua_pushlstring(T, "", 0) }()
            }
        case .userdata(let d): lua_pushstring(T, d)
        case .table(let entries):
            lua_createtable(T, 0, Int32(clamping: entries.count))
            for e in entries where e.key != .nil {
                push(e.key, on: T)
                push(e.value, on: T)
                lua_rawset(T, -3)
            }
        }
    }

    /// Copies the value at `index` into Swift (raw access only: no metamethod runs).
    public func value(at index: Int32, on thread: OpaquePointer? = nil, maxDepth: Int = 16) -> LuaValue {
        let T = thread ?? L
        var seen: Set<UnsafeRawPointer> = []
        return value(at: lua_absindex(T, index), on: T, depth: maxDepth, seen: &seen)
    }

    private func value(at i: Int32, on T: OpaquePointer, depth: Int, seen: inout Set<UnsafeRawPointer>) -> LuaValue {
        switch lua_type(T, i) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(T, i) != 0)
        case LUA_TNUMBER:
            return lua_isinteger(T, i) != 0 ? .integer(kmlab_tointeger(T, i)) : .number(kmlab_tonumber(T, i))
        case LUA_TSTRING: return .string(bytes(at: i, on: T) ?? [])
        case LUA_TFUNCTION: return .function
        case LUA_TTHREAD: return .thread
        case LUA_TUSERDATA, LUA_TLIGHTUSERDATA: return .userdata(safeToString(at: i, on: T))
        case LUA_TTABLE:
            guard let p = lua_topointer(T, i) else { return .elided("table") }
            if seen.contains(p) { return .elided("cycle") }
            if depth <= 0 || lua_checkstack(T, 4) == 0 { return .elided("depth") }
            seen.insert(p)
            defer { seen.remove(p) }
            var array: [LuaTableEntry] = []
            var others: [LuaTableEntry] = []
            let n = lua_rawlen(T, i)
            lua_pushnil(T)
            while lua_next(T, i) != 0 {
                let k = value(at: lua_absindex(T, -2), on: T, depth: depth - 1, seen: &seen)
                let v = value(at: lua_absindex(T, -1), on: T, depth: depth - 1, seen: &seen)
                kmlab_pop(T, 1)
                if case .integer(let ix) = k, ix >= 1, UInt64(ix) <= UInt64(n) {
                    array.append(LuaTableEntry(key: k, value: v))
                } else {
                    others.append(LuaTableEntry(key: k, value: v))
                }
            }
            array.sort { ($0.key.integerValue ?? 0) < ($1.key.integerValue ?? 0) }
            others.sort { LuaValue.keyPrecedes($0.key, $1.key) }
            return .table(array + others)
        default: return .nil
        }
    }
}

extension LuaValue {
    /// Orders keys deterministically: numbers by value, then strings by
    /// bytes, then booleans, then the rest.
    static func keyPrecedes(_ a: LuaValue, _ b: LuaValue) -> Bool {
        func rank(_ v: LuaValue) -> Int {
            switch v {
            case .integer, .number: return 0
            case .string: return 1
            case .boolean: return 2
            default: return 3
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb }
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y
        case (.string(let x), .string(let y)): return x.lexicographicallyPrecedes(y)
        case (.boolean(let x), .boolean(let y)): return !x && y
        default:
            let x: Double, y: Double
            if case .integer(let i) = a { x = Double(i) } else if case .number(let d) = a { x = d } else { return false }
            if case .integer(let i) = b { y = Double(i) } else if case .number(let d) = b { y = d } else { return false }
            return x < y
        }
    }
}
