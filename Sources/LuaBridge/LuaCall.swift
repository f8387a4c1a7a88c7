import CLua

/// A Swift implementation of a Lua function: reads its arguments from the
/// call, pushes its results and returns how many. Throwing is how it reports
/// an error (never `lua_error`): see `LuaState`'s rule.
public typealias LuaFunction = (LuaCall) throws -> Int32

/// Runs a function's body for Lua, around it what every function of a
/// family shares (the kernel glue turns kernel oopses into Lua errors so).
/// One non-capturing guard serves every function: no closure per function.
public typealias LuaCallGuard = (LuaCall, LuaFunction) throws -> Int32

/// Errors a Swift function raises in Lua.
public enum LuaCallError: Error {
    /// A message; the Lua caller's `chunk:line: ` is prefixed, as `luaL_error` does.
    case message(String)
    /// The value already on top of the stack is the error value (a kernel report).
    case valueOnStack
}

final class LuaFunctionBox {
    let name: String
    /// The state owns the box (`LuaState.functionBoxes`) and outlives every
    /// call through it, so no reference counting is needed on the call path.
    /// (Unmanaged, not `unowned(unsafe)`: the compiler retained an
    /// unowned(unsafe) reference for the length of the call, atomically.)
    let state: Unmanaged<LuaState>
    let body: LuaFunction
    /// (Not optional: unwrapping an optional closure copies it, and the
    /// copy is retained and released on every call.)
    let guardedBy: LuaCallGuard
    init(name: String, state: LuaState, guardedBy: LuaCallGuard? = nil, body: @escaping LuaFunction) {
        self.name = name
        self.state = Unmanaged.passUnretained(state)
        self.guardedBy = guardedBy ?? LuaFunctionBox.unguarded
        self.body = body
    }
    static let unguarded: LuaCallGuard = { call, body in try body(call) }
}

/// The single C-callable entry point for every Swift function: the
/// trampoline in shim.h calls it and raises (after this returns) if it
/// returns a negative sentinel.
let luaBridgeDispatch: kmlab_SwiftFunction = { L, rawBox in
    guard let L, let rawBox else { return 0 }
    // The Lua closure's upvalue keeps no reference; the state's list does.
    return Unmanaged<LuaFunctionBox>.fromOpaque(rawBox)._withUnsafeGuaranteedRef { box in
        box.state._withUnsafeGuaranteedRef { dispatch(box, $0, rawBox, L) }
    }
}

/// Runs one Swift function for Lua (every call from Lua passes here: keep it lean).
@inline(__always)
private func dispatch(_ box: LuaFunctionBox, _ state: LuaState, _ identity: UnsafeMutableRawPointer, _ L: OpaquePointer) -> Int32 {
    let previous = state.currentThread, previousFunction = state.currentFunction
    state.currentThread = L
    state.currentFunction = UnsafeRawPointer(identity)
    defer {
        state.currentThread = previous
        state.currentFunction = previousFunction
    }
    do {
        let call = LuaCall(L: L, state: state, functionName: box.name)
        return try box.guardedBy(call, box.body)
    } catch LuaCallError.valueOnStack {
        return Int32(KMLAB_RAISE)
    } catch LuaCallError.message(let m) {
        lua_pushstring(L, m)
        return Int32(KMLAB_RAISE_WITH_WHERE)
    } catch let failure as LuaFailure {
        // A nested call into Lua failed (a budget, or an error in a callback):
        // pass it on unchanged.
        lua_pushstring(L, failure.message)
        return Int32(KMLAB_RAISE)
    } catch {
        lua_pushstring(L, "\(box.name): \(error)")
        return Int32(KMLAB_RAISE_WITH_WHERE)
    }
}

/// One call of a Swift function from Lua: typed access to the arguments, with
/// errors that name the function and the argument, and result pushing.
public struct LuaCall {
    /// The thread the call runs on (may be a coroutine: always use this one).
    public let L: OpaquePointer
    /// Alive for the whole call (a `LuaCall` never outlives it): no retain needed.
    public unowned(unsafe) let state: LuaState
    /// The Lua-visible name, used in error messages (`kmalloc`, `user.malloc`).
    public let functionName: String

    @inlinable public var argumentCount: Int32 { lua_gettop(L) }

    /// Lua's type name of argument `i` ("no value" when absent).
    public func typeName(_ i: Int32) -> String {
        if i > argumentCount { return "no value" }
        return String(cString: lua_typename(L, lua_type(L, i)))
    }

    @inlinable public func isNil(_ i: Int32) -> Bool { i > argumentCount || lua_type(L, i) == LUA_TNIL }
    @inlinable public func type(_ i: Int32) -> Int32 { i > argumentCount ? LUA_TNONE : lua_type(L, i) }

    /// How argument `i` looks in an error message: its type, or the number
    /// itself for numbers that are the wrong kind of number.
    public func describe(_ i: Int32) -> String {
        if type(i) == LUA_TNUMBER {
            if lua_isinteger(L, i) != 0 { return String(kmlab_tointeger(L, i)) }
            let d = kmlab_tonumber(L, i)
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            return "\(d)"
        }
        return typeName(i)
    }

    /// An error for argument `i`: "fn: name must be EXPECTED, got DESCRIPTION".
    public func argumentError(_ i: Int32, _ name: String, _ expected: String) -> LuaCallError {
        .message("\(functionName): \(name) must be \(expected), got \(describe(i))")
    }

    public func error(_ message: String) -> LuaCallError { .message("\(functionName): \(message)") }

    /// An integer, or a float with an exact integer value. (Inlinable, as
    /// the other argument readers on every call's path: see `kmlab bench`.)
    @inlinable @inline(__always)
    public func integer(_ i: Int32, _ name: String, expected: String = "an integer") throws -> Int64 {
        // The common case inline (an absent argument is not an integer);
        // the rest out of line, so every call site stays small.
        if lua_isinteger(L, i) != 0 { return kmlab_tointeger(L, i) }
        return try integerOtherwise(i, name, expected: expected)
    }

    /// `integer` for a float with an integer value, or the error.
    @usableFromInline func integerOtherwise(_ i: Int32, _ name: String, expected: String) throws -> Int64 {
        guard type(i) == LUA_TNUMBER else { throw argumentError(i, name, expected) }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, i, &ok)
        guard ok != 0 else { throw argumentError(i, name, expected) }
        return v
    }

    @inlinable public func optionalInteger(_ i: Int32, _ name: String, default value: Int64, expected: String = "an integer") throws -> Int64 {
        isNil(i) ? value : try integer(i, name, expected: expected)
    }

    /// A non-negative integer that fits in `Int`.
    @inlinable @inline(__always) public func count(_ i: Int32, _ name: String) throws -> Int {
        let v = try integer(i, name, expected: "a non-negative integer")
        guard v >= 0, let n = Int(exactly: v) else { throw argumentError(i, name, "a non-negative integer") }
        return n
    }

    public func number(_ i: Int32, _ name: String) throws -> Double {
        guard type(i) == LUA_TNUMBER else { throw argumentError(i, name, "a number") }
        return kmlab_tonumber(L, i)
    }

    public func bytes(_ i: Int32, _ name: String) throws -> [UInt8] {
        guard let b = state.bytes(at: i, on: L) else { throw argumentError(i, name, "a string") }
        return b
    }

    public func string(_ i: Int32, _ name: String) throws -> String {
        String(decoding: try bytes(i, name), as: UTF8.self)
    }

    public func optionalString(_ i: Int32, _ name: String) throws -> String? {
        isNil(i) ? nil : try string(i, name)
    }

    public func boolean(_ i: Int32, _ name: String) throws -> Bool {
        guard type(i) == LUA_TBOOLEAN else { throw argumentError(i, name, "a boolean") }
        return lua_toboolean(L, i) != 0
    }

    /// Lua truthiness (nil and false are false).
    public func truthy(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }

    public func checkFunction(_ i: Int32, _ name: String) throws {
        guard type(i) == LUA_TFUNCTION else { throw argumentError(i, name, "a function") }
    }

    public func checkTable(_ i: Int32, _ name: String) throws {
        guard type(i) == LUA_TTABLE else { throw argumentError(i, name, "a table") }
    }

    /// A registry reference to argument `i` (a function kept for later calls).
    public func reference(_ i: Int32) -> LuaReference { state.reference(at: i, on: L) }

    /// `t[key]` of the table argument `i`, read raw (no `__index`).
    public func rawField(_ i: Int32, _ key: String) -> Int32 {
        let t = lua_absindex(L, i)
        lua_pushstring(L, key)
        return lua_rawget(L, t)
    }

    // MARK: Results

    @inlinable public func push(_ v: Int64) { lua_pushinteger(L, v) }
    public func push(_ v: Int) { lua_pushinteger(L, lua_Integer(v)) }
    public func push(_ v: Double) { lua_pushnumber(L, v) }
    public func push(_ v: Bool) { lua_pushboolean(L, v ? 1 : 0) }
    public func push(_ v: String) { lua_pushstring(L, v) }
    public func push(bytes v: [UInt8]) {
        v.withUnsafeBufferPointer { buf in
            buf.baseAddress?.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                _ = lua_pushlstring(L, $0, buf.count)
            } ?? { _ = lua_pushlstring(L, "", 0) }()
        }
    }
    public func pushNil() { lua_pushnil(L) }
    public func push(_ v: LuaValue) { state.push(v, on: L) }

    /// Pushes an address as Lua sees it: the 64-bit pattern as a signed integer.
    @inlinable public func push(address: UInt64) { lua_pushinteger(L, lua_Integer(bitPattern: address)) }
    /// Pushes an optional address; nil is the C NULL.
    @inlinable public func push(address: UInt64?) {
        if let a = address { push(address: a) } else { lua_pushnil(L) }
    }
}
