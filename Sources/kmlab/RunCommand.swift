import ArgumentParser
import Foundation
import KernelLua
import LuaBridge

/// `kmlab run FILE [ARGS...]`: runs a script with the kernel API.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a Lua script against a freshly booted simulated kernel.",
        discussion: """
        The script runs in the sandbox (no io, os, debug, package; see the README)
        unless --trusted is given. Kernel reports are printed to stderr as they
        happen. Exit status: 0 on success, 1 on a Lua error, a kernel BUG/Oops or
        an exceeded budget, 2 on a usage error (including a missing script).
        """
    )

    @Argument(help: "The Lua script to run.")
    var script: String

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the script (the table `arg` and `...`).")
    var scriptArguments: [String] = []

    @Option(name: .customLong("max-instructions"), help: "Lua VM instruction budget (0: unlimited).")
    var maxInstructions: Int64 = LuaLimits.runDefault.maxInstructions

    @Option(name: .customLong("max-memory"), help: "Memory budget in bytes, with K/M/G suffixes (e.g. 256M; 0: unlimited).")
    var maxMemory: String = "1G"

    @Flag(help: "Open every standard library (io, os, debug, package): for your own scripts only.")
    var trusted = false

    func validate() throws {
        guard maxInstructions >= 0 else { throw ValidationError("--max-instructions must be a non-negative integer") }
        guard parseByteSize(maxMemory) != nil else {
            throw ValidationError("--max-memory must be a size such as 4096, 64K, 256M or 1G, got '\(maxMemory)'")
        }
    }

    func run() throws {
        var limits = LuaLimits(maxInstructions: maxInstructions, maxMemory: parseByteSize(maxMemory) ?? 0)
        // A budget this large only stops runaways: count by sampling every
        // 10 ms of CPU time so scripts run at full Lua speed (see LuaLimits).
        if maxInstructions == 0 || maxInstructions >= 100_000_000 {
            limits.samplingPeriodMicroseconds = 10_000
        }
        let source: [UInt8]
        switch ScriptFile.read(script) {
        case .success(let bytes): source = bytes
        case .failure(let problem):
            Terminal.error("kmlab: \(problem)")
            throw ExitCode(2)
        }
        let session: ScriptSession
        do {
            session = try ScriptSession(profile: trusted ? .trusted : .sandbox, limits: limits)
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(1)
        }
        let ok = session.runScript(source, path: script, arguments: scriptArguments)
        throw ExitCode(ok ? 0 : 1)
    }
}
