import Foundation
import KernelLua
import KernelSim
import LuaBridge

/// A Lua state with the kernel API, set up for `kmlab run`: output to
/// stdout, kernel reports echoed to stderr as they happen.
final class ScriptSession {
    let lua: LuaState
    let kernel: KernelEnvironment

    init(profile: LuaProfile, limits: LuaLimits) throws {
        lua = try LuaState(profile: profile, limits: limits)
        kernel = KernelEnvironment(lua: lua)
        lua.output = { Terminal.out($0) }
        echoReports()
        kernel.onMachineReplaced { [weak self] _ in self?.echoReports() }
    }

    private func echoReports() {
        kernel.machine.log.reportObserver = { _, lines in
            Terminal.error(lines.joined(separator: "\n"))
        }
    }

    /// Runs a script file's source; prints errors to stderr. Returns success.
    func runScript(_ source: [UInt8], path: String, arguments: [String]) -> Bool {
        // `arg` as lua.c sets it: arg[0] is the script, arg[1...] its arguments.
        var entries = [LuaTableEntry(key: .integer(0), value: .string(path))]
        for (i, a) in arguments.enumerated() {
            entries.append(LuaTableEntry(key: .integer(Int64(i + 1)), value: .string(a)))
        }
        lua.setGlobal("arg") { $0.push(.table(entries)) }
        let result = lua.run(source, chunkName: "@" + path, arguments: arguments.map { .string($0) })
        fflush(stdout)
        switch result {
        case .success:
            return finish()
        case .failure(let failure):
            if failure.payload is ReportText { kernel.scriptDied() }
            report(failure)
            return false
        }
    }

    /// The script's top level returned: the end-of-init checks and the
    /// deferred work still queued run (as when a module's init returns), then
    /// kmemleak reports what nothing points to any more.
    private func finish() -> Bool {
        do {
            try kernel.finishScript()
        } catch let failure as LuaFailure {
            report(failure)
            return false
        } catch is KernelOops {
            Terminal.error("kmlab: the task was killed by a kernel Oops (see the report above)")
            return false
        } catch {
            Terminal.error("kmlab: \(error)")
            return false
        }
        kernel.reportLeaks()
        fflush(stdout)
        return true
    }

    func report(_ failure: LuaFailure) {
        switch failure.kind {
        case .syntax:
            Terminal.error("kmlab: \(failure.message)")
        case .instructionLimit, .memoryLimit, .interrupted:
            Terminal.error("kmlab: \(failure.message)")
        case .error:
            if failure.payload is ReportText {
                // The report itself was already echoed as it was raised.
                Terminal.error("kmlab: the task was killed by a kernel Oops (see the report above)")
            } else {
                Terminal.error("kmlab: \(failure.message)")
            }
            if let tb = failure.traceback { Terminal.error(tb) }
        }
    }
}
