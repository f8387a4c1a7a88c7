import CLua

/// LuaBridge: a small, safe embedding of Lua 5.4 for Swift.
///
/// ## The one rule
/// A Lua error is a `longjmp`. Swift frames cannot be jumped over (retains
/// leak, `defer` does not run, state is left half-changed), so:
///
/// 1. Swift functions called from Lua never raise. They `throw` a Swift
///    error (or return normally); the dispatcher turns a thrown error into a
///    pushed error value plus a negative sentinel, and the C trampoline in
///    `Modules/CLua/shim.h` raises it after the Swift frame has returned.
/// 2. Swift never calls `luaL_check*`, `luaL_error` or `lua_error`, and uses
///    only API calls that cannot raise: raw table access (`lua_rawget`,
///    `lua_rawset`, ...), pushes, type queries. Anything that may run a
///    metamethod (`__index`, `__tostring`, ...) goes through a C helper under
///    `kmlab_pcall`.
/// 3. Pushes from Swift cannot fail for lack of memory: the allocator never
///    refuses while Swift runs (`swift_depth > 0`). An overdraft is recorded
///    and enforced at the next allocation made by Lua code. Swift code that
///    would push something large asks `canAllocate(_:)` first.
/// 4. Swift runs Lua code only through `kmlab_pcall` (see `protectedCall`).
///
/// Tests in Tests/LuaBridgeTests check each of these.
public final class LuaState {
    /// The main thread. Callbacks must use the thread they are given
    /// (`LuaCall.L`), which may be a coroutine.
    public let L: OpaquePointer
    let budget: UnsafeMutablePointer<kmlab_budget>
    public let profile: LuaProfile
    public private(set) var limits: LuaLimits
    /// Keeps the Swift closures registered as Lua functions alive for as
    /// long as the Lua state can call them.
    private var functionBoxes: [LuaFunctionBox] = []
    /// The thread a Swift callback is running on (for calls back into Lua).
    public internal(set) var currentThread: OpaquePointer
    /// Which Swift function is running for Lua now (an opaque identity, nil
    /// outside calls from Lua): it is the innermost frame of `currentThread`'s
    /// stack, a C frame `lua_getinfo` cannot tell apart from any other.
    public internal(set) var currentFunction: UnsafeRawPointer?
    /// Where `print` writes (stdout by default).
    public var output: ([UInt8]) -> Void = { bytes in
        bytes.withUnsafeBufferPointer { buf in _ = fwrite(buf.baseAddress, 1, buf.count, stdout) }
    }
    /// Turns an error value into something structured (a kernel report), if it is one.
    public var errorPayloadExtractor: ((LuaState, Int32) -> Any?)?

    public init(profile: LuaProfile = .sandbox, limits: LuaLimits = .runDefault) throws {
        let b = UnsafeMutablePointer<kmlab_budget>.allocate(capacity: 1)
        b.initialize(to: kmlab_budget())
        b.pointee.swift_depth = 1 // the host itself is Swift
        guard let state = kmlab_newstate(b) else {
            b.deallocate()
            throw LuaSetupError("could not create a Lua state")
        }
        self.L = state
        self.budget = b
        self.profile = profile
        self.limits = limits
        self.currentThread = state
        applyLimits(limits)
        kmlab_install_hook(L, max(1, limits.hookInterval))
        try withCollectorPaused { try openLibraries() }
        if limits.samplingPeriodMicroseconds != nil { kmlab_remove_hook(L) }
    }

    /// Runs trusted set-up code (libraries, the kernel API, a lesson) with
    /// the garbage collector paused: an incremental collector traverses the
    /// growing heap again and again while a state is built, which was a good
    /// part of a grading state's cost. Learner code never runs paused.
    public func withCollectorPaused<T>(_ body: () throws -> T) rethrows -> T {
        let wasRunning = kmlab_gc_pause(L)
        defer { kmlab_gc_resume(L, wasRunning) }
        return try body()
    }

    deinit {
        if !closed { lua_close(L) }
        budget.deallocate()
    }
    private var closed = false

    /// Closes the Lua state now (running its finalizers) and lets go of the
    /// Swift closures registered in it. Those closures usually capture the
    /// object that owns this state (a `KernelEnvironment`): a reference
    /// cycle that `deinit` alone never breaks. An owner that makes states
    /// over and over (the grader: several per submission) calls this when
    /// done with one. The state must not be used afterwards.
    public func close() {
        guard !closed else { return }
        closed = true
        lua_close(L)
        functionBoxes.removeAll()
    }

    // MARK: Budgets

    func applyLimits(_ limits: LuaLimits) {
        budget.pointee.mem_limit = limits.maxMemory > 0 ? limits.maxMemory : 0
        budget.pointee.instr_limit = limits.maxInstructions > 0 ? limits.maxInstructions : 0
    }

    /// Changes the budgets (counters are kept; see `resetBudgets`).
    public func setLimits(_ limits: LuaLimits) {
        self.limits = limits
        applyLimits(limits)
    }

    /// Starts a new budget period: clears the instruction count and any
    /// tripped budget, so the next chunk starts fresh (the REPL does this
    /// before each line). Memory already held stays charged.
    public func resetBudgets() {
        budget.pointee.instr_used = 0
        budget.pointee.exceeded = 0
        budget.pointee.interrupt_requested = 0
        if limits.samplingPeriodMicroseconds == nil {
            kmlab_install_hook(L, max(1, limits.hookInterval))
        } else {
            kmlab_remove_hook(L)
        }
    }

    /// Charges host work done for the script to its instruction budget, as
    /// if it had run `instructions` VM instructions: a loop of calls that
    /// each cost the host far more than one instruction (a boot) then meets
    /// the budget as a loop of Lua code would, on every machine alike
    /// (the wall clock is only the backstop). Enforced at the next count hook.
    public func charge(instructions: Int64) {
        budget.pointee.instr_used &+= max(0, instructions)
    }

    /// Asks the running script to stop at its next instruction (Ctrl-C).
    /// Only sets a flag: safe to call from a signal handler's context.
    public func requestInterrupt() { budget.pointee.interrupt_requested = 1 }

    /// The address of the interrupt flag, for a C signal handler.
    public var interruptFlag: UnsafeMutablePointer<sig_atomic_t> {
        withUnsafeMutablePointer(to: &budget.pointee.interrupt_requested) { $0 }
    }

    public var memoryUsed: Int { budget.pointee.mem_used }
    public var memoryPeak: Int { budget.pointee.mem_peak }
    public var instructionsUsed: Int64 { budget.pointee.instr_used }

    /// Whether Swift may push `bytes` more without overdrawing the memory budget.
    public func canAllocate(_ bytes: Int) -> Bool {
        let b = budget.pointee
        if b.mem_limit == 0 { return true }
        if b.exceeded & Int32(KMLAB_EXCEEDED_MEMORY) != 0 { return false }
        guard bytes >= 0 else { return false }
        let (total, overflow) = b.mem_used.addingReportingOverflow(bytes)
        return !overflow && total <= b.mem_limit
    }

    /// Marks the memory budget as exceeded (used when host-side state that
    /// scales with the script, such as simulated memory contents, overflows).
    public func markMemoryExceeded() { budget.pointee.exceeded |= Int32(KMLAB_EXCEEDED_MEMORY) }

    /// Which budget, if any, has been tripped.
    public var exceededBudget: LuaFailure.Kind? {
        let e = budget.pointee.exceeded
        if e & Int32(KMLAB_INTERRUPTED) != 0 { return .interrupted }
        if e & Int32(KMLAB_EXCEEDED_MEMORY) != 0 { return .memoryLimit }
        if e & Int32(KMLAB_EXCEEDED_INSTRUCTIONS) != 0 { return .instructionLimit }
        return nil
    }

    // MARK: Globals and functions

    /// Sets a global with a raw set (a script's `__newindex` on `_G` cannot intercept it).
    public func setGlobal(_ name: String, push: (LuaState) -> Void) {
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        pushName(name, on: L)
        push(self)
        lua_rawset(L, -3)
        kmlab_pop(L, 1)
    }

    /// Pushes a Swift string as a Lua string without making a C string of
    /// it first (`lua_pushstring(L, name)` would copy it into a new array:
    /// a grading state pushes hundreds of names when it installs the API).
    @inline(__always) public func pushName(_ name: String, on L: OpaquePointer) {
        var name = name
        name.withUTF8 { u in
            guard let base = u.baseAddress else { _ = lua_pushlstring(L, "", 0); return }
            base.withMemoryRebound(to: CChar.self, capacity: u.count) { _ = lua_pushlstring(L, $0, u.count) }
        }
    }

    /// Registers a Swift function as the global `name`.
    public func register(_ name: String, _ body: @escaping LuaFunction) {
        setGlobal(name) { $0.pushFunction(on: $0.L, named: name, body) }
    }

    /// Registers a Swift function whose calls run through `guardedBy`.
    public func register(_ name: String, guardedBy: @escaping LuaCallGuard, _ body: @escaping LuaFunction) {
        setGlobal(name) { $0.pushFunction(on: $0.L, named: name, guardedBy: guardedBy, body) }
    }

    /// Registers `functions` as fields of the global table `table` (created if missing).
    public func register(table: String, _ functions: [(String, LuaFunction)]) {
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        pushName(table, on: L)
        lua_rawget(L, -2)
        if lua_type(L, -1) != LUA_TTABLE {
            kmlab_pop(L, 1)
            kmlab_newtable(L)
            pushName(table, on: L)
            lua_pushvalue(L, -2)
            lua_rawset(L, -4)
        }
        for (name, body) in functions {
            pushName(name, on: L)
            pushFunction(named: "\(table).\(name)", body)
            lua_rawset(L, -3)
        }
        kmlab_pop(L, 2)
    }

    /// Pushes a Swift function as a Lua function. `name` prefixes its error messages.
    public func pushFunction(named name: String, _ body: @escaping LuaFunction) {
        pushFunction(on: L, named: name, body)
    }

    public func pushFunction(on thread: OpaquePointer, named name: String, guardedBy: LuaCallGuard? = nil,
                             _ body: @escaping LuaFunction) {
        let box = LuaFunctionBox(name: name, state: self, guardedBy: guardedBy, body: body)
        functionBoxes.append(box)
        kmlab_pushswiftfunction(thread, luaBridgeDispatch, Unmanaged.passUnretained(box).toOpaque())
    }

    /// Reads a global with raw access (metatables on `_G` are ignored).
    public func pushGlobal(_ name: String) {
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        pushName(name, on: L)
        lua_rawget(L, -2)
        kmlab_remove(L, -2)
    }

    // MARK: Running code

    /// Compiles `source` (text only: binary chunks are refused) and runs it.
    /// Returns the chunk's results as values, or the failure.
    @discardableResult
    public func run(_ source: [UInt8], chunkName: String, arguments: [LuaValue] = []) -> Result<[LuaValue], LuaFailure> {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if let failure = load(source, chunkName: chunkName) { return .failure(failure) }
        for a in arguments { push(a) }
        if let failure = protectedCall(arguments: Int32(arguments.count), results: LUA_MULTRET) {
            return .failure(failure)
        }
        var values: [LuaValue] = []
        let n = lua_gettop(L)
        if n > top { for i in (top + 1)...n { values.append(value(at: i)) } }
        return .success(values)
    }

    public func run(_ source: String, chunkName: String = "=(string)") -> Result<[LuaValue], LuaFailure> {
        run(Array(source.utf8), chunkName: chunkName)
    }

    /// Compiles a chunk and leaves the function on the stack, or returns the syntax error.
    public func load(_ source: [UInt8], chunkName: String, mode: String = "t") -> LuaFailure? {
        let status = LuaState.loadStatus(on: L, source, chunkName: chunkName, mode: mode)
        if status == LUA_OK { return nil }
        let failure = failureFromTop(status: status, kind: .syntax)
        kmlab_pop(L, 1)
        return failure
    }

    /// `luaL_loadbufferx` of `source` on any lua_State (a scratch state
    /// compiling a prelude too): the status, the function or error pushed.
    static func loadStatus(on L: OpaquePointer, _ source: [UInt8], chunkName: String, mode: String) -> Int32 {
        source.withUnsafeBufferPointer { buf -> Int32 in
            buf.baseAddress?.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                luaL_loadbufferx(L, $0, buf.count, chunkName, mode)
            } ?? luaL_loadbufferx(L, "", 0, chunkName, mode)
        }
    }

    /// Calls the function below `arguments` values on the main stack, protected,
    /// under the budgets. On failure the stack is left without function and
    /// arguments and the failure is returned.
    public func protectedCall(arguments: Int32, results: Int32) -> LuaFailure? {
        protectedCall(on: L, arguments: arguments, results: results)
    }

    public func protectedCall(on thread: OpaquePointer, arguments: Int32, results: Int32) -> LuaFailure? {
        let previous = currentThread, previousFunction = currentFunction
        currentThread = thread
        currentFunction = nil // Lua code runs now; a call from it sets its own
        defer {
            currentThread = previous
            currentFunction = previousFunction
        }
        // The outermost call of a sampled-counting state starts its timer.
        let samples = thread == L && budget.pointee.swift_depth == 1 && limits.samplingPeriodMicroseconds != nil
        if samples { kmlab_sampling_start(L, limits.samplingPeriodMicroseconds ?? 10_000) }
        defer { if samples { kmlab_sampling_stop(L) } }
        let status = kmlab_pcall(thread, arguments, results, 1)
        if status == LUA_OK { return nil }
        let failure = failureFromTop(status: status, kind: .error, thread: thread)
        kmlab_pop(thread, 1)
        return failure
    }

    func failureFromTop(status: Int32, kind: LuaFailure.Kind, thread: OpaquePointer? = nil) -> LuaFailure {
        let T = thread ?? L
        var traceback: String?
        if kind != .syntax {
            lua_getfield(T, kmlab_registryindex(), "kmlab.traceback")
            if lua_type(T, -1) == LUA_TSTRING { traceback = string(at: -1, on: T) }
            kmlab_pop(T, 1)
            lua_pushnil(T)
            lua_setfield(T, kmlab_registryindex(), "kmlab.traceback")
        }
        let payload = errorPayloadExtractor?(self, lua_gettop(T))
        var message = safeToString(at: -1, on: T)
        var k = kind
        if let budgetKind = exceededBudget {
            k = budgetKind
            message = budgetKind.defaultMessage(limits: limits)
        } else if status == LUA_ERRMEM {
            k = .memoryLimit
        }
        return LuaFailure(kind: k, message: message, traceback: traceback, payload: payload)
    }

    // MARK: Strings

    /// `tostring(v)` run protected (a `__tostring` that errors or loops cannot
    /// escape); a failing conversion yields "(error object is a T value)".
    public func safeToString(at index: Int32, on thread: OpaquePointer? = nil) -> String {
        let T = thread ?? L
        var len = 0
        let p = kmlab_safe_tostring(T, index, &len)
        let s = p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""
        kmlab_pop(T, 1)
        return s
    }

    /// The bytes of the string at `index` (embedded NULs kept); nil if not a string.
    public func bytes(at index: Int32, on thread: OpaquePointer? = nil) -> [UInt8]? {
        let T = thread ?? L
        guard lua_type(T, index) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = lua_tolstring(T, index, &len) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: len))
    }

    public func string(at index: Int32, on thread: OpaquePointer? = nil) -> String? {
        bytes(at: index, on: thread).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Registry references

    /// Keeps the value at `index` alive in the registry; returns its reference.
    public func reference(at index: Int32, on thread: OpaquePointer? = nil) -> LuaReference {
        let T = thread ?? L
        lua_pushvalue(T, index)
        return LuaReference(id: luaL_ref(T, kmlab_registryindex()))
    }

    public func push(_ ref: LuaReference, on thread: OpaquePointer? = nil) {
        lua_rawgeti(thread ?? L, kmlab_registryindex(), lua_Integer(ref.id))
    }

    public func release(_ ref: LuaReference) {
        luaL_unref(L, kmlab_registryindex(), ref.id)
    }
}

/// A value kept alive in the Lua registry (a handler, a callback).
public struct LuaReference: Hashable, Sendable {
    public let id: Int32
}

public struct LuaSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Which libraries a state opens.
public enum LuaProfile: Sendable {
    /// For untrusted scripts: see `Sandbox.swift`.
    case sandbox
    /// For lesson files, `kmlab run --trusted` and the REPL: all standard libraries.
    case trusted
}

/// Why running Lua code failed.
public struct LuaFailure: Error, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case syntax, error
        case instructionLimit = "instruction-limit"
        case memoryLimit = "memory-limit"
        case interrupted

        func defaultMessage(limits: LuaLimits) -> String {
            switch self {
            case .instructionLimit: return "instruction limit exceeded (\(limits.maxInstructions) instructions)"
            case .memoryLimit: return "memory limit exceeded (\(limits.maxMemory) bytes)"
            case .interrupted: return "interrupted"
            default: return rawValue
            }
        }
    }
    public var kind: Kind
    /// The error message (`file:line: text` for errors raised with a position).
    public var message: String
    public var traceback: String?
    /// A structured form of the error value, when `errorPayloadExtractor` found one.
    public var payload: Any?
    public var description: String { message }
}
