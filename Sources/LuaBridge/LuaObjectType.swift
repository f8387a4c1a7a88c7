import CLua

/// A kind of value the house hands to scripts with behaviour attached (a
/// `struct page`, a lock or device handle, a kernel report): a metatable
/// kept in the registry under `key`, in the spirit of lauxlib's
/// `luaL_newmetatable` / `luaL_checkudata`, but without raising. Declared
/// once per state with `LuaState.declare`; values are made with
/// `LuaCall.pushUserdata` (a fixed-size payload such as a pfn or a handle
/// id) or `LuaTableBuilder.setType` (a table), and recognised with
/// `LuaCall.userdata(_:of:as:)` or `LuaState.isValue(at:of:)`.
public struct LuaObjectType: Hashable, Sendable {
    /// The registry key of the metatable ("kmlab.page").
    public let key: String
    public init(key: String) { self.key = key }
}

extension LuaState {
    /// Creates `type`'s metatable: `__name` is `typeName` (what error
    /// messages and `tostring` fallbacks print), `fill` adds the
    /// metamethods (`__index`, `__tostring`, `__eq`, ...) with
    /// `LuaTableBuilder.define`, and a `locked` metatable answers
    /// `getmetatable(v)` with `typeName` so a script cannot reach it (nor
    /// change it with `setmetatable`). Declaring a type again fills the
    /// same metatable again (its new functions replace the old).
    /// `namedInErrors: false` leaves `__name` out, so Lua's own messages
    /// ("attempt to index a table value") keep calling the value by its
    /// Lua type.
    public func declare(_ type: LuaObjectType, typeName: String, locked: Bool = true, namedInErrors: Bool = true,
                        _ fill: (LuaTableBuilder) -> Void) {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        _ = luaL_newmetatable(L, type.key)
        let t = LuaTableBuilder(L: L, state: self, table: lua_gettop(L))
        if namedInErrors { t.set("__name", typeName) }
        fill(t)
        if locked { t.set("__metatable", typeName) }
    }

    /// Whether the value at `index` has `type`'s metatable (read raw: no
    /// `__metatable` field can disguise another value as one of ours).
    public func isValue(at index: Int32, of type: LuaObjectType, on thread: OpaquePointer? = nil) -> Bool {
        let T = thread ?? L
        guard lua_checkstack(T, 2) != 0, lua_getmetatable(T, index) != 0 else { return false }
        _ = kmlab_getmetatable_registry(T, type.key)
        let ours = lua_rawequal(T, -1, -2) != 0
        kmlab_pop(T, 2)
        return ours
    }

    /// `t[key]` of the table at `index`, raw and shallow (nil if not a table).
    public func rawFieldValue(at index: Int32, _ key: String, on thread: OpaquePointer? = nil) -> LuaValue {
        let T = thread ?? L
        guard lua_type(T, index) == LUA_TTABLE, lua_checkstack(T, 2) != 0 else { return .nil }
        let t = lua_absindex(T, index)
        pushName(key, on: T)
        lua_rawget(T, t)
        defer { kmlab_pop(T, 1) }
        return shallowValue(at: -1, on: T)
    }
}

extension LuaState {
    /// Pushes a new empty table with `type`'s metatable (an object whose
    /// fields all come from its metamethods, such as `current`).
    public func pushNewTable(of type: LuaObjectType) {
        kmlab_newtable(L)
        _ = kmlab_getmetatable_registry(L, type.key)
        lua_setmetatable(L, -2)
    }
}

extension LuaTableBuilder {
    /// `t[key] =` a Swift function (a metamethod, a method); `name` prefixes
    /// its error messages.
    public func define(_ key: String, named name: String, guardedBy: LuaCallGuard? = nil, _ body: @escaping LuaFunction) {
        set(key) { state.pushFunction(on: L, named: name, guardedBy: guardedBy, body) }
    }

    /// Gives the table `type`'s metatable (declared before with `declare`).
    public func setType(_ type: LuaObjectType) {
        _ = kmlab_getmetatable_registry(L, type.key)
        lua_setmetatable(L, table)
    }
}

extension LuaCall {
    /// Pushes a new full userdata of `type` holding `payload` (plain data:
    /// a pfn, a handle's id and generation).
    @inlinable public func pushUserdata<Payload: BitwiseCopyable>(_ payload: Payload, of type: LuaObjectType) {
        guard let raw = kmlab_newuserdata(L, MemoryLayout<Payload>.size) else { lua_pushnil(L); return }
        raw.storeBytes(of: payload, as: Payload.self)
        _ = kmlab_getmetatable_registry(L, type.key)
        lua_setmetatable(L, -2)
    }

    /// The payload of the userdata of `type` in slot `i`, or nil when slot
    /// `i` holds anything else (another type's userdata, a table, nothing).
    @inlinable public func userdata<Payload: BitwiseCopyable>(_ i: Int32, of type: LuaObjectType, as _: Payload.Type) -> Payload? {
        guard lua_type(L, i) == LUA_TUSERDATA, let raw = luaL_testudata(L, i, type.key),
              Int(lua_rawlen(L, i)) >= MemoryLayout<Payload>.size else { return nil }
        return raw.load(as: Payload.self)
    }
}
