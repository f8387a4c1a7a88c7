import KernelSim
import LuaBridge

/// The kernel API as Lua globals: owns the simulated `Machine` and installs
/// every function and constant of ../shared/DESIGN.md into a `LuaState`.
///
/// Glue only: argument checking, conversion and docs live here; what the
/// kernel does lives in KernelSim. Each API area installs itself from its own
/// file (`MemoryAPI`, `ContextAPI`, `MachineAPI`, ...), and every name is
/// defined with its `APIDoc` through `define`.
public final class KernelEnvironment {
    public let lua: LuaState
    /// The machine the script is running on; `boot{}` replaces it. The
    /// default machine boots the first time anything needs it: a grading
    /// state whose task boots a machine of its own never pays for it.
    public var machine: Machine { current ?? bootDefaultMachine() }
    private var current: Machine?

    /// The current machine's layout; before the default machine has booted,
    /// the default layout (the API's constants are installed from it).
    public var layout: KernelLayout { current?.layout ?? KernelEnvironment.defaultLayout }
    static let defaultLayout = KernelLayout(config: .standard)

    /// Whether a machine exists yet (see `machine`).
    public var hasMachine: Bool { current != nil }
    /// Every documented name, by Lua name. An environment made with
    /// `documented: false` (a grading state: thousands per batch, and no one
    /// reads their docs) builds them only if asked, in a scratch environment
    /// on a machine like its own.
    public var docs: [String: APIDoc] {
        if documented { return collectedDocs }
        // Built once per machine layout (the docs differ only in the layout's
        // constants): a script calling help() in a loop must not rebuild an
        // environment every time (host work its instruction budget would not see).
        let config = current?.config ?? .standard
        if let (builtFor, built) = builtDocs, builtFor.arch == config.arch, builtFor.era == config.era,
           builtFor.ram == config.ram { return built }
        let built = KernelEnvironment.documentation(for: config)
        builtDocs = (config, built)
        docsBuilds += 1
        return built
    }
    private var collectedDocs: [String: APIDoc] = [:]
    private var builtDocs: (MachineConfig, [String: APIDoc])?
    /// How many times `docs` built them (tests).
    private(set) var docsBuilds = 0
    private let documented: Bool
    /// When set, `boot{}` raises this message instead of booting (a grader
    /// sets it around a learner's call: reports and leaks on the machine
    /// being graded must not be left behind on a machine the call replaced).
    public var bootRefusal: String?
    /// Whether `memmap()` and `buddyinfo()` draw with ANSI colours (off by
    /// default: the REPL turns it on for a terminal without NO_COLOR).
    public var picturesInColor = false
    /// Called after `boot{}` replaced the machine (the Lua side rebinds state).
    var onBoot: [(Machine) -> Void] = []

    /// Every constant `boot{}` may (re)install on any machine (layout
    /// constants and GFP flags), sorted.
    public static var bootConstantNames: [String] { MachineStateAPI.constantNames }

    /// Registers code to run whenever `boot{}` replaces the machine.
    public func onMachineReplaced(_ hook: @escaping (Machine) -> Void) { onBoot.append(hook) }

    /// With no machine, the default one (`MachineConfig.standard`) boots
    /// when first needed.
    public init(lua: LuaState, machine: Machine? = nil, documented: Bool = true) {
        self.lua = lua
        self.documented = documented
        if documented { collectedDocs.reserveCapacity(640) } // every name of the API, without rehashing
        if let machine { take(machine) }
        lua.errorPayloadExtractor = { state, index in
            ReportValue.report(in: state, at: index)
        }
        lua.withCollectorPaused {
            ReportValue.installMetatable(in: lua)
            MachineAPI.install(into: self)
            MemoryAPI.install(into: self)
            ContextAPI.install(into: self)
            ViewsAPI.install(into: self)
            FileWriteAPI.install(into: self)
        }
    }

    /// Replaces the machine (what `boot{}` does once it has a valid config).
    public func adopt(_ newMachine: Machine) {
        // boot{} may run inside the old machine's callbacks (a tasklet, a
        // handler): whatever the old machine still has queued must not run
        // once the glue has released its callbacks' Lua references.
        current?.retire()
        take(newMachine)
        for hook in onBoot { hook(newMachine) }
    }

    private func take(_ newMachine: Machine) {
        KernelEnvironment.bound(newMachine, to: lua)
        newMachine.log.reportCost = { [weak lua] in lua?.charge(instructions: KernelEnvironment.reportCost) }
        current = newMachine
        installCallTrace()
    }

    /// The default machine, as `Machine()` boots it (deterministic whenever
    /// it happens; the API's constants already hold its layout's values).
    private func bootDefaultMachine() -> Machine {
        let m = Machine()
        take(m)
        return m
    }

    /// What a kernel report costs the instruction budget: building and
    /// logging one (its stacks, shadow dump, text) takes the host tens of
    /// microseconds, thousands of VM instructions' worth, so a loop of
    /// double frees meets the budget as a loop of Lua code would instead of
    /// running for minutes on three instructions per report.
    static let reportCost: Int64 = 10_000

    /// The simulated memory contents count against the script's memory
    /// budget: a script cannot make the host hold more than it allows.
    static func bound(_ machine: Machine, to lua: LuaState) {
        if lua.limits.maxMemory > 0 { machine.contentsByteLimit = lua.limits.maxMemory }
    }

    // MARK: Defining names

    /// Defines global `name` as a Swift function with its documentation.
    /// Kernel oopses thrown by the body become Lua errors carrying the report.
    public func define(_ name: String, doc: @autoclosure () -> APIDoc, _ body: @escaping LuaFunction) {
        if documented { collectedDocs[name] = doc() }
        lua.register(name, guardedBy: KernelEnvironment.kernelGuard, body)
    }

    /// Defines a documented constant.
    public func constant(_ name: String, _ value: Int64, doc: @autoclosure () -> APIDoc) {
        if documented { collectedDocs[name] = doc() }
        lua.setGlobal(name, .integer(value))
    }

    /// Records documentation for a name installed some other way (a table field such as `user.malloc`).
    public func document(_ name: String, _ doc: @autoclosure () -> APIDoc) {
        if documented { collectedDocs[name] = doc() }
    }

    /// The docs of a documented environment on a machine booted with `config`.
    static func documentation(for config: MachineConfig) -> [String: APIDoc] {
        guard let lua = try? LuaState(profile: .trusted, limits: .unlimited) else { return [:] }
        defer { lua.close() }
        let env = KernelEnvironment(lua: lua)
        if config != .standard, let m = try? Machine(config: config) { env.adopt(m) }
        return env.collectedDocs
    }

    /// Runs a body that may throw `KernelOops`: the report becomes the Lua
    /// error value (its `tostring` is the report text). A simulated-memory
    /// budget overflow becomes the memory-limit outcome.
    public func guardKernel(_ call: LuaCall, _ body: () throws -> Int32) throws -> Int32 {
        try KernelEnvironment.guarded(call, body)
    }

    /// `guarded` as every defined function's guard (one closure for all).
    static let kernelGuard: LuaCallGuard = { call, body in try guarded(call) { try body(call) } }

    /// `guardKernel` for `define`: needs nothing but the call (every call
    /// from Lua passes here, so it captures no environment to retain).
    @inline(__always)
    static func guarded(_ call: LuaCall, _ body: () throws -> Int32) throws -> Int32 {
        do {
            return try body()
        } catch let oops as KernelOops {
            ReportValue.push(oops.report, on: call)
            throw LuaCallError.valueOnStack
        } catch let limit as SimulatorLimitError {
            // Host memory for simulated contents ran out: the memory budget's outcome.
            call.state.markMemoryExceeded()
            throw LuaCallError.message("\(call.functionName): \(limit)")
        } catch let error where SimulatorErrors.message(for: error, function: call.functionName) != nil {
            throw LuaCallError.message(SimulatorErrors.message(for: error, function: call.functionName) ?? "")
        }
    }

    /// Gives the machine the Lua call stack, memoized (see `CallTraceCache`):
    /// at start and after every boot.
    private func installCallTrace() {
        guard let current else { return }
        callTraces.install(on: current)
    }

    /// One for the Lua state's life: the texts of its stacks outlive a boot.
    private lazy var callTraces = CallTraceCache(lua: lua)
}
