import KernelLua
import KernelSim
import LuaBridge

/// A sandboxed Lua state with the whole kernel API, for Lua-level scenario
/// tests: run a snippet, then look at what it printed, what it returned, the
/// reports the machine raised and the failure (if any).
final class KernelHarness {
    let lua: LuaState
    let env: KernelEnvironment
    private(set) var printed = ""

    init(profile: LuaProfile = .sandbox, limits: LuaLimits = .runDefault) throws {
        lua = try LuaState(profile: profile, limits: limits)
        env = KernelEnvironment(lua: lua)
        lua.output = { [unowned self] bytes in self.printed += String(decoding: bytes, as: UTF8.self) }
    }

    /// The machine the script is on now (`boot{}` replaces it).
    var machine: Machine { env.machine }
    /// Every report raised on the current machine.
    var reports: [KernelReport] { machine.log.reports }

    /// Runs `source`; returns its results or the failure.
    @discardableResult
    func run(_ source: String, chunkName: String = "=test") -> Result<[LuaValue], LuaFailure> {
        lua.run(Array(source.utf8), chunkName: chunkName)
    }

    /// Runs `source` and returns its results, or nil if it failed.
    func values(_ source: String) -> [LuaValue]? {
        if case .success(let v) = run(source) { return v }
        return nil
    }

    /// The message of the failure of `source`, or nil if it succeeded.
    func errorMessage(_ source: String) -> String? {
        if case .failure(let f) = run(source) { return f.message }
        return nil
    }
}
