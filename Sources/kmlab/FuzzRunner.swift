import Foundation

/// What the fuzzer flags. Anything else a script does (errors, kernel
/// reports, exceeded budgets) is the host working as promised.
enum FuzzFailure: Equatable, CustomStringConvertible {
    case signal(Int32)
    case unexpectedExit(Int32)
    case hang(seconds: Double)
    case memory(peakMiB: Int)
    case nondeterministic(String)

    /// A file-name word for the class (reproducers are named by it).
    var kind: String {
        switch self {
        case .signal(let s): return "signal\(s)"
        case .unexpectedExit(let e): return "exit\(e)"
        case .hang: return "hang"
        case .memory: return "memory"
        case .nondeterministic: return "nondeterministic"
        }
    }

    var description: String {
        switch self {
        case .signal(let s): return "ended by signal \(s) (\(String(cString: strsignal(s))))"
        case .unexpectedExit(let e): return "exit status \(e)"
        case .hang(let t): return String(format: "still running after %.0f s (killed)", t)
        case .memory(let m): return "peak resident size \(m) MiB, past the 64 MiB budget plus the allowance"
        case .nondeterministic(let what): return "different output on a second run (\(what))"
        }
    }
}

/// How a case is run: `kmlab run` or `kmlab check` (the grading path), each
/// under a grading-size budget.
struct FuzzRunner {
    var kmlab: String
    var workDirectory: String
    var timeout: Double = 30
    static let maxInstructions = "20000000"
    static let maxMemoryMiB = 64
    /// Resident memory allowed past the Lua memory budget: the binary, the
    /// simulated machine's own structures (a debug build's baseline is about
    /// 30 MiB).
    static let rssAllowanceMiB = 192

    enum Mode: String { case run, check }

    func arguments(_ mode: Mode, file: String) -> [String] {
        switch mode {
        case .run: return [kmlab, "run", "--max-instructions", Self.maxInstructions, "--max-memory", "\(Self.maxMemoryMiB)M", file]
        case .check: return [kmlab, "check", "1", file]
        }
    }

    /// Runs `source` once (or twice, in a different directory, environment
    /// and, when `setarch` is there, without address randomisation, and
    /// compares the output) and says what, if anything, went wrong.
    func check(_ source: String, mode: Mode, twice: Bool) -> FuzzFailure? {
        let first = runOnce(source, mode: mode, variant: 0)
        if let f = verdict(first, mode: mode) { return f }
        guard twice else { return nil }
        let second = runOnce(source, mode: mode, variant: 1)
        if let f = verdict(second, mode: mode) { return f }
        if first.stdout != second.stdout { return .nondeterministic("stdout") }
        if first.stderr != second.stderr { return .nondeterministic("stderr") }
        if first.exitStatus != second.exitStatus { return .nondeterministic("exit status") }
        return nil
    }

    func verdict(_ r: FuzzChildResult, mode: Mode) -> FuzzFailure? {
        if r.killedAfterTimeout { return .hang(seconds: r.seconds) }
        if let s = r.signal { return .signal(s) }
        if let e = r.exitStatus, e != 0, e != 1 { return .unexpectedExit(e) }
        let peakMiB = r.peakRSSBytes >> 20
        if peakMiB > Self.maxMemoryMiB + Self.rssAllowanceMiB { return .memory(peakMiB: peakMiB) }
        return nil
    }

    /// Variant 1 differs in everything that must not matter: the working
    /// directory's path, the environment, address-space randomisation.
    func runOnce(_ source: String, mode: Mode, variant: Int) -> FuzzChildResult {
        let dir = workDirectory + (variant == 0 ? "/a" : "/b/a-longer-directory-name")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/case.lua"
        FileManager.default.createFile(atPath: file, contents: Data(source.utf8))
        var env = ["HOME": dir, "XDG_STATE_HOME": dir + "/state", "PATH": "/usr/bin:/bin", "LC_ALL": "C"]
        var args = arguments(mode, file: "case.lua")
        if variant == 1 {
            env["KMLAB_FUZZ_NOISE"] = String(repeating: "x", count: 777)
            env["LC_ALL"] = "C.UTF-8"
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/setarch") {
                args = ["/usr/bin/setarch", "-R"] + args
            }
        }
        return FuzzChild.run(args, in: dir, environment: env, timeout: timeout)
    }
}

/// Delta debugging over a script's top-level statements (Zeller's ddmin):
/// the smallest list it finds for which the failure still happens.
enum FuzzMinimizer {
    static func minimize(_ statements: [String], maxTests: Int = 120, stillFails: ([String]) -> Bool) -> [String] {
        var current = statements
        var granularity = 2
        var tests = 0
        while current.count >= 2 && tests < maxTests {
            let chunk = max(1, current.count / granularity)
            var reduced = false
            var start = 0
            while start < current.count && tests < maxTests {
                var candidate = current
                candidate.removeSubrange(start..<min(start + chunk, current.count))
                tests += 1
                if !candidate.isEmpty && stillFails(candidate) {
                    current = candidate
                    granularity = max(granularity - 1, 2)
                    reduced = true
                    break
                }
                start += chunk
            }
            if !reduced {
                if chunk == 1 { break }
                granularity = min(granularity * 2, current.count)
            }
        }
        return current
    }
}
