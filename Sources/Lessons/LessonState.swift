import CLua
import KernelLua
import KernelSim
import LuaBridge

/// A sandboxed Lua state with the kernel API, the grading driver installed
/// before anything else ran, and one lesson loaded into the driver's
/// pristine environment. The catalog uses one to read a lesson; the grader
/// uses a fresh one per exercise check.
final class LessonState {
    let lua: LuaState
    let kernel: KernelEnvironment
    /// The driver table (see `GradingDriver`).
    private let driver: LuaReference
    /// The lesson table the lesson file returned.
    private(set) var lessonTable: LuaReference?
    /// What `print` wrote (lesson and learner code alike); kept off the terminal.
    private(set) var printed: [UInt8] = []

    /// Whether the driver and lessons load without debug info (grading
    /// states: see `init(limits:hidden:)`).
    let hidden: Bool

    /// `hidden`: a grading state. The driver and the lesson load stripped of
    /// debug info, so nothing the learner's code can observe (`error`
    /// levels, error messages, Call Traces) names a grader file, line or
    /// exercise: code cannot tell which exercise is running, or branch on it.
    init(limits: LuaLimits, hidden: Bool = false) throws {
        self.hidden = hidden
        let lua = try LuaState(profile: .sandbox, limits: limits)
        let kernel = KernelEnvironment(lua: lua, documented: false)
        // Trusted set-up: the collector waits (see `withCollectorPaused`).
        driver = try lua.withCollectorPaused {
            let top = lua_gettop(lua.L)
            defer { lua_settop(lua.L, top) }
            let driverSource = GradingDriver.bytes
            let driverChunk = LessonBytecode.shared.bytecode(for: driverSource, chunkName: "=kmlab.grader", using: lua, stripped: hidden)
            if let failure = lua.load(driverChunk ?? driverSource, chunkName: "=kmlab.grader", mode: driverChunk == nil ? "t" : "b") {
                throw LessonError.graderSetup(failure.message)
            }
            // The driver's arguments: P and saved (from the globals as they
            // are now, before any lesson or learner code), and restore.
            lua_pushcclosure(lua.L, kmlab_pristine_globals_function(), 0)
            if let failure = lua.protectedCall(arguments: 0, results: 2) {
                throw LessonError.graderSetup(failure.message)
            }
            lua_pushcclosure(lua.L, kmlab_restore_saved_function(), 0)
            if let failure = lua.protectedCall(arguments: 3, results: 1) {
                throw LessonError.graderSetup(failure.message)
            }
            return lua.reference(at: -1)
        }
        self.lua = lua
        self.kernel = kernel
        lua.output = { [weak self] bytes in
            guard let self, self.printed.count < 1 << 16 else { return }
            self.printed += bytes.prefix(1 << 16)
        }
        // boot{} reinstalls the layout constants in the real globals: copy
        // them into the pristine environment too (they were just written by
        // Swift, so learner code cannot have touched them).
        kernel.onMachineReplaced { [weak self] _ in self?.refreshConstants() }
    }

    /// Loads a lesson file into the pristine environment. Throws the lesson's
    /// own error (a lesson file is trusted code; its errors are the author's).
    /// `variantSeed` picks the learner's variant of every exercise (seed 0:
    /// the lesson as written); `caseSecret` is mixed into task case
    /// generators (see `GradingDriver`).
    func loadLesson(source: [UInt8], chunkName: String, variantSeed: UInt64 = 0, caseSecret: UInt64 = 0) throws {
        try lua.withCollectorPaused {
            try loadLessonPaused(source: source, chunkName: chunkName, variantSeed: variantSeed, caseSecret: caseSecret)
        }
    }

    private func loadLessonPaused(source: [UInt8], chunkName: String, variantSeed: UInt64, caseSecret: UInt64) throws {
        let L = lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        pushDriverField("set_seeds")
        lua_pushinteger(L, lua_Integer(Int64(bitPattern: variantSeed)))
        lua_pushinteger(L, lua_Integer(Int64(bitPattern: caseSecret)))
        if let failure = lua.protectedCall(arguments: 2, results: 0) {
            throw LessonError.graderSetup(failure.message)
        }
        pushDriverField("load_lesson")
        if let bytecode = LessonBytecode.shared.bytecode(for: source, chunkName: chunkName, using: lua, stripped: hidden),
           lua.load(bytecode, chunkName: chunkName, mode: "b") == nil {
            // The chunk's only upvalue is _ENV: the driver's pristine environment.
            pushDriverField("P")
            _ = lua_setupvalue(L, -2, 1)
        } else {
            lua.push(.string(source))   // the driver's load reports the syntax error
        }
        lua.push(.string(chunkName))
        if let failure = lua.protectedCall(arguments: 2, results: 1) {
            throw LessonError.badLesson(failure.message)
        }
        lessonTable = lua.reference(at: -1)
    }

    /// A raw snapshot of the lesson table (functions described, not copied).
    func lessonSnapshot() -> LuaValue {
        guard let ref = lessonTable else { return .nil }
        let top = lua_gettop(lua.L)
        defer { lua_settop(lua.L, top) }
        lua.push(ref)
        return lua.value(at: -1, maxDepth: 8)
    }

    /// Pushes `D[name]` (raw).
    func pushDriverField(_ name: String) {
        let L = lua.L
        lua.push(driver)
        lua.pushName(name, on: L)
        lua_rawget(L, -2)
        kmlab_remove(L, -2)
    }

    /// Calls `D.restore()`: the library tables back as they were before learner code.
    func restoreLibraries() -> LuaFailure? {
        lua.resetBudgets()
        let top = lua_gettop(lua.L)
        defer { lua_settop(lua.L, top) }
        pushDriverField("restore")
        return lua.protectedCall(arguments: 0, results: 0)
    }

    /// Runs inside `boot{}`, which may be called from a coroutine: works on
    /// the running thread's stack, raw access only.
    /// The names boot{} may reinstall, sorted (a fixed order keeps the
    /// pristine table's layout the same in every run).
    private var constantNames: [String] { KernelEnvironment.bootConstantNames }

    private func refreshConstants() {
        let T = lua.currentThread
        guard lua_checkstack(T, 8) != 0 else { return }
        let top = lua_gettop(T)
        defer { lua_settop(T, top) }
        lua.push(driver, on: T)
        lua_pushstring(T, "P")
        lua_rawget(T, -2)
        guard lua_type(T, -1) == LUA_TTABLE else { return }
        let env = lua_gettop(T)
        lua_rawgeti(T, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        let globals = lua_gettop(T)
        // Only the constants boot{} reinstalls: a learner's `kmalloc = 0`
        // must not reach the pristine environment.
        for name in constantNames {
            lua.pushName(name, on: T)
            lua_rawget(T, globals)
            if lua_type(T, -1) == LUA_TNUMBER {
                lua.pushName(name, on: T)
                lua_rotate(T, -2, 1)
                lua_rawset(T, env)
            } else {
                kmlab_pop(T, 1)
            }
        }
    }
}

/// Problems with a lesson or the grader itself (never the learner's fault).
public enum LessonError: Error, CustomStringConvertible, Equatable {
    case graderSetup(String)
    case badLesson(String)
    case unknownLesson(id: String, known: [String], suggestion: String?)
    case noLessonsDirectory(String)

    public var description: String {
        switch self {
        case .graderSetup(let m): return "grader setup failed: \(m)"
        case .badLesson(let m): return "bad lesson: \(m)"
        case .unknownLesson(let id, let known, let suggestion):
            var s = "no lesson '\(id)'"
            if let suggestion { s += "; did you mean '\(suggestion)'?" }
            s += " (known: \(known.joined(separator: ", "))); `kmlab lessons` lists them"
            return s
        case .noLessonsDirectory(let m): return m
        }
    }
}
