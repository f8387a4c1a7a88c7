import CLua

extension LuaState {
    /// Compiles a text chunk to Lua bytecode (`lua_dump`, debug info kept so
    /// errors still name file and line). For trusted code that many states
    /// load — a lesson file is parsed once per process instead of once per
    /// grading state. Load the result with `load(_:chunkName:mode: "b")`.
    /// With `stripped`, the debug info (source name, lines, local names)
    /// is left out: errors raised in that code, and `error(msg, level)`
    /// pointing at it, name no file or line.
    public func compile(_ source: [UInt8], chunkName: String, stripped: Bool = false) -> Result<[UInt8], LuaFailure> {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if let failure = load(source, chunkName: chunkName) { return .failure(failure) }
        return .success(LuaState.dumpFunction(on: L, stripped: stripped))
    }

    /// The bytecode of the Lua function on top of the stack (left there),
    /// debug info kept. Makes no allocation in Lua: it cannot raise.
    public func dumpFunction() -> [UInt8] { LuaState.dumpFunction(on: L) }

    /// `dumpFunction` for any lua_State (a scratch state compiling a prelude).
    static func dumpFunction(on L: OpaquePointer, stripped: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        let writer: lua_Writer = { _, p, size, ud in
            guard let p, let ud else { return 0 }
            ud.assumingMemoryBound(to: [UInt8].self).pointee
                .append(contentsOf: UnsafeRawBufferPointer(start: p, count: size))
            return 0
        }
        _ = withUnsafeMutablePointer(to: &bytes) { lua_dump(L, writer, $0, stripped ? 1 : 0) }
        return bytes
    }
}
