import CLua

/// The Lua call stack as kernel reports show it, and the names of Lua
/// functions the host calls back (a handler, a tasklet, a work item): Lua
/// cannot name a function called from C, so without a record a frame inside
/// a handler would be `<anonymous>`. Names are kept in a registry table with
/// weak keys, so recording one keeps no function alive.
extension LuaState {
    /// The registry key of the names table (a light userdata: no string to intern).
    nonisolated(unsafe) private static let functionNamesKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Records `name` for the function in slot `index` of `thread`.
    public func recordFunctionName(_ name: String, forFunctionAt index: Int32, on thread: OpaquePointer) {
        let T = thread
        let i = lua_absindex(T, index)
        guard lua_checkstack(T, 4) != 0 else { return }
        let top = lua_gettop(T)
        defer { lua_settop(T, top) }
        if lua_rawgetp(T, kmlab_registryindex(), LuaState.functionNamesKey) != LUA_TTABLE {
            kmlab_pop(T, 1)
            kmlab_newtable(T)
            kmlab_newtable(T)
            lua_pushstring(T, "__mode")
            lua_pushstring(T, "k")
            lua_rawset(T, -3)
            lua_setmetatable(T, -2)
            lua_pushvalue(T, -1)
            lua_rawsetp(T, kmlab_registryindex(), LuaState.functionNamesKey)
        }
        lua_pushvalue(T, i)
        pushName(name, on: T)
        lua_rawset(T, -3)
    }

    /// The recorded name of the function running at activation `ar` of `T`.
    private func recordedName(_ T: OpaquePointer, _ ar: inout lua_Debug) -> String? {
        guard lua_checkstack(T, 3) != 0, lua_getinfo(T, "f", &ar) != 0 else { return nil }
        defer { kmlab_pop(T, 2) }
        guard lua_rawgetp(T, kmlab_registryindex(), LuaState.functionNamesKey) == LUA_TTABLE else { return nil }
        lua_pushvalue(T, -2)
        let found = lua_rawget(T, -2) == LUA_TSTRING ? lua_tolstring(T, -1, nil).map { String(cString: $0) } : nil
        kmlab_pop(T, 1)
        return found
    }

    /// The running thread's Lua stack, innermost first, one line per frame
    /// as a kernel's `Call Trace:` shows it: ` name` for a C function,
    /// ` <chunk> [src:line]` for a main chunk, ` name [src:line]` otherwise
    /// (a nameless function by its recorded name, else `<anonymous>`).
    public func callTrace(maxFrames: Int) -> [String] {
        let T = currentThread
        var lines: [String] = []
        var level: Int32 = 0
        var ar = lua_Debug()
        // Each line is put together as bytes and decoded once: the text of
        // every new stack is built here (at an allocation or free from a
        // line not seen before), and string interpolation was most of that.
        // Decoding the whole line repairs invalid UTF-8 as decoding each
        // part did: every part ends next to an ASCII separator.
        var line: [UInt8] = []
        line.reserveCapacity(128)
        while lines.count < maxFrames, lua_getstack(T, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(T, "Sln", &ar) != 0 else { continue }
            line.removeAll(keepingCapacity: true)
            line.append(UInt8(ascii: " "))
            // `what` is "C", "main" or "Lua".
            let isC = ar.what.map { $0[0] == 67 && $0[1] == 0 } ?? false
            let isMain = ar.what.map { $0[0] == 109 && $0[1] == 97 && $0[2] == 105 && $0[3] == 110 && $0[4] == 0 } ?? false
            if isC {
                LuaState.appendCString(ar.name, or: "?", to: &line)
                lines.append(String(decoding: line, as: UTF8.self))
                continue
            }
            if isMain {
                line += Array("<chunk>".utf8)
            } else if ar.name != nil {
                LuaState.appendCString(ar.name, or: "", to: &line)
            } else {
                line += Array((recordedName(T, &ar) ?? "<anonymous>").utf8)
            }
            line += [UInt8(ascii: " "), UInt8(ascii: "[")]
            withUnsafeBytes(of: ar.short_src) { raw in
                for b in raw {
                    if b == 0 { break }
                    line.append(b)
                }
            }
            line.append(UInt8(ascii: ":"))
            line += Array(String(ar.currentline).utf8)
            line.append(UInt8(ascii: "]"))
            lines.append(String(decoding: line, as: UTF8.self))
        }
        return lines
    }

    /// Appends the bytes of the C string `s` (or of `fallback` when it is NULL).
    static func appendCString(_ s: UnsafePointer<CChar>?, or fallback: String, to line: inout [UInt8]) {
        guard var p = s else {
            line += Array(fallback.utf8)
            return
        }
        while p.pointee != 0 {
            line.append(UInt8(bitPattern: p.pointee))
            p += 1
        }
    }
}

extension LuaCall {
    /// The smallest global name (a string key of `_G`, read raw) whose value
    /// is the very value in slot `index`, looking at `limit` globals at most.
    /// (The smallest, because table order depends on the hash seed and
    /// output must not.)
    public func globalName(of index: Int32, limit: Int) -> String? {
        let i = lua_absindex(L, index), top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard lua_checkstack(L, 4) != 0 else { return nil }
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        lua_pushnil(L)
        var found: String?
        var scanned = 0
        while lua_next(L, -2) != 0 {
            scanned += 1
            if lua_type(L, -2) == LUA_TSTRING, lua_rawequal(L, -1, i) != 0,
               let name = state.string(at: -2, on: L), found.map({ name < $0 }) ?? true {
                found = name
            }
            kmlab_pop(L, 1)
            if scanned > limit { break }
        }
        return found
    }

    /// Where the Lua function in slot `index` was defined: its chunk's
    /// short name and first line (as `lua_getinfo(">S")`); nil for a value
    /// that is not a function.
    public func definitionSite(of index: Int32) -> (source: String, line: Int)? {
        guard lua_type(L, index) == LUA_TFUNCTION else { return nil }
        var ar = lua_Debug()
        lua_pushvalue(L, index)
        guard lua_getinfo(L, ">S", &ar) != 0 else { return nil }
        let src = withUnsafeBytes(of: ar.short_src) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return (src, Int(ar.linedefined))
    }

    /// The identity of the value in slot `i` (`lua_topointer`): the same for
    /// the same table, function, userdata or thread while it lives; nil for
    /// numbers, booleans and nil.
    public func identity(_ i: Int32) -> UnsafeRawPointer? { lua_topointer(L, i) }

    /// A float argument's value (`lua_tonumberx`; 0 for a non-number).
    public func uncheckedNumber(_ i: Int32) -> Double { lua_tonumberx(L, i, nil) }
}
