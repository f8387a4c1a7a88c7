import CLua

/// The two library profiles.
///
/// **sandbox** (untrusted scripts: `kmlab run`, graded submissions):
/// base library without `dofile`/`loadfile`, `load` restricted to text
/// chunks, `collectgarbage` limited to `"count"`, `setmetatable` refusing
/// `__gc` (a finalizer would run learner code at arbitrary moments),
/// `xpcall` calling its message handler after unwinding (see the prelude);
/// `string`, `table`, `math`, `utf8`, `coroutine`; an `os` table with only a
/// deterministic `clock`. No `io`, `debug`, `package`, `require`. The string
/// metatable is locked (`getmetatable("")` is `false`).
///
/// **trusted** (lesson files, `kmlab run --trusted`, the REPL): every
/// standard library.
///
/// Both: `print` writes to `LuaState.output`; `tostring` numbers tables and
/// functions in order of first printing instead of showing heap addresses
/// (string.format's `%p` and `%s` too); `math.random` starts from a fixed
/// seed and `next` and `pairs` visit keys in a fixed order (numbers,
/// strings, booleans, then other objects by creation: Modules/CLua/order.h),
/// because Lua 5.4 seeds its string hash and its random generator from the
/// clock and ASLR, and kmlab promises the same output for the same script.
extension LuaState {
    /// Names the sandbox removes from the globals.
    public static let sandboxRemovedGlobals = ["dofile", "loadfile", "require", "io", "debug", "package"]

    func openLibraries() throws {
        // A presized globals table, in place before anything captured the
        // first one: the kernel API adds some 600 names, and a table grown
        // to that rehashes itself again and again (in every grading state).
        lua_createtable(L, 0, 1000)
        lua_rawseti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        var libs: [(String, lua_CFunction?)] = [
            ("_G", kmlab_luaopen_base()), ("string", kmlab_luaopen_string()),
            ("table", kmlab_luaopen_table()), ("math", kmlab_luaopen_math()),
            ("utf8", kmlab_luaopen_utf8()), ("coroutine", kmlab_luaopen_coroutine()),
        ]
        if profile == .trusted {
            libs += [("os", kmlab_luaopen_os()), ("io", kmlab_luaopen_io()),
                     ("debug", kmlab_luaopen_debug()), ("package", kmlab_luaopen_package())]
        }
        for (name, open) in libs {
            guard kmlab_openlib(L, name, open) == LUA_OK else {
                let message = safeToString(at: -1)
                kmlab_pop(L, 1)
                throw LuaSetupError("could not open the \(name) library: \(message)")
            }
        }
        // Library functions whose one call could do unbounded host work are
        // replaced by versions that charge the instruction budget as they go,
        // and string.format stops printing addresses (Modules/CLua/bounded.h,
        // patterns.h, determinism.h). Before the prelude, which captures some.
        // next and pairs visit keys in a fixed order (Modules/CLua/order.h).
        guard kmlab_install_bounded(L) == LUA_OK, kmlab_install_format(L) == LUA_OK,
              kmlab_install_order(L) == LUA_OK else {
            let message = safeToString(at: -1)
            kmlab_pop(L, 1)
            throw LuaSetupError("could not install the bounded library functions: \(message)")
        }
        if profile == .sandbox {
            guard kmlab_install_sandbox_functions(L) == LUA_OK else {
                let message = safeToString(at: -1)
                kmlab_pop(L, 1)
                throw LuaSetupError("could not install the sandbox's xpcall and setmetatable: \(message)")
            }
        }
        installPrint()
        hookNewCoroutines()
        setGlobal("tostring") { lua_pushcclosure($0.L, kmlab_tostring_function(), 0) }
        if profile == .sandbox {
            setGlobal("os") { s in
                kmlab_newtable(s.L)
                lua_pushstring(s.L, "clock")
                var ticks = 0.0
                s.pushFunction(named: "os.clock") { call in
                    // Simulated time: one microsecond passes per call. The
                    // instruction count is estimated from the CPU clock
                    // under `kmlab run` (LuaLimits.samplingPeriodMicroseconds),
                    // so it would make the value differ from run to run.
                    ticks += 1
                    call.push(ticks / 1e6)
                    return 1
                }
                lua_rawset(s.L, -3)
            }
        }
        let prelude = profile == .sandbox ? LuaState.sandboxPreludeChunk : LuaState.commonPreludeChunk
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if let f = load(prelude.bytes, chunkName: "=kmlab.prelude", mode: prelude.mode)
            ?? protectedCall(arguments: 0, results: 0) {
            throw LuaSetupError("prelude failed: \(f.message)")
        }
        // Light C functions have no allocation to give them a creation
        // number; `next` orders them by these numbers instead of addresses.
        guard kmlab_register_cfunctions(L) == LUA_OK else {
            throw LuaSetupError("could not number the library functions: \(safeToString(at: -1))")
        }
    }

    /// The preludes compiled once per process: every state runs one, and a
    /// grader opens thousands of states (parsing it was a tenth of a state's
    /// set-up). Text if compiling fails, so the error shows when it runs.
    static let sandboxPreludeChunk = PreludeChunk(LuaState.sandboxPrelude + LuaState.commonPrelude)
    static let commonPreludeChunk = PreludeChunk(LuaState.commonPrelude)

    /// coroutine.create/wrap give every new thread the count hook, so no
    /// coroutine escapes the instruction budget (whatever the main thread's
    /// counting mode).
    private func hookNewCoroutines() {
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        lua_pushstring(L, "coroutine")
        lua_rawget(L, -2)
        if lua_type(L, -1) == LUA_TTABLE {
            for (name, wrapper) in [("create", kmlab_cocreate_function()), ("wrap", kmlab_cowrap_function())] {
                lua_pushstring(L, name)
                lua_pushstring(L, name)
                lua_rawget(L, -3)
                lua_pushcclosure(L, wrapper, 1)
                lua_rawset(L, -3)
            }
        }
        kmlab_pop(L, 2)
    }

    private func installPrint() {
        budget.pointee.write_ctx = Unmanaged.passUnretained(self).toOpaque()
        budget.pointee.write_fn = { ctx, bytes, len in
            guard let ctx, let bytes else { return }
            let state = Unmanaged<LuaState>.fromOpaque(ctx).takeUnretainedValue()
            state.output(Array(UnsafeRawBufferPointer(start: bytes, count: len)))
        }
        setGlobal("print") { lua_pushcclosure($0.L, kmlab_print_function(), 0) }
    }

    static let commonPrelude = """
    do
      local seed, select = math.randomseed, select
      math.randomseed = function(...)
        if select("#", ...) == 0 then return seed(0) end
        return seed(...)
      end
      seed(0)
    end
    """

    static let sandboxPrelude = """
    dofile, loadfile, require, io, debug, package = nil, nil, nil, nil, nil, nil
    do
      local base_load, select, error, type, rawget = load, select, error, type, rawget
      load = function(chunk, chunkname, mode, ...)
        if select("#", ...) > 0 then return base_load(chunk, chunkname, "t", (...)) end
        return base_load(chunk, chunkname, "t")
      end
      local base_collect = collectgarbage
      collectgarbage = function(opt)
        if opt == "count" then return base_collect("count") end
        error("collectgarbage: only \\"count\\" is available in the sandbox", 2)
      end
      -- xpcall and setmetatable are the sandbox's own (Modules/CLua/sandbox.h).
      local smt = getmetatable("")
      smt.__metatable = false
    end

    """
}

/// A prelude's bytecode (our own text, compiled in a scratch state).
struct PreludeChunk: Sendable {
    let bytes: [UInt8]
    let mode: String

    init(_ text: String) {
        let source = Array(text.utf8)
        guard let L = luaL_newstate() else {
            (bytes, mode) = (source, "t")
            return
        }
        defer { lua_close(L) }
        guard LuaState.loadStatus(on: L, source, chunkName: "=kmlab.prelude", mode: "t") == LUA_OK else {
            (bytes, mode) = (source, "t")
            return
        }
        (bytes, mode) = (LuaState.dumpFunction(on: L), "b")
    }
}
