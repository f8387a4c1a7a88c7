import Foundation

/// One run of a child process for the fuzzer: its exit, its output, how
/// long it took and how much memory it held at most.
struct FuzzChildResult {
    var exitStatus: Int32?     // nil when ended by a signal
    var signal: Int32?
    var killedAfterTimeout = false
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var seconds: Double = 0
    var peakRSSBytes: Int = 0
}

enum FuzzChild {
    /// Runs `arguments` (a path and its arguments) in `directory` with
    /// exactly `environment`, stdin from /dev/null, output to files; kills
    /// it after `timeout` seconds. `env -i -C` sets the environment and
    /// directory and then execs the command in the same process, so wait4's
    /// resource usage is the command's own.
    static func run(_ arguments: [String], in directory: String, environment: [String: String],
                    timeout: Double) -> FuzzChildResult {
        var result = FuzzChildResult()
        let outPath = directory + "/.stdout", errPath = directory + "/.stderr"
        let argv = ["/usr/bin/env", "-i", "-C", directory]
            + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let start = Date()
        guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else {
            result.exitStatus = 127
            return result
        }
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date().timeIntervalSince(start) > timeout {
                kill(pid, SIGKILL)
                result.killedAfterTimeout = true
                _ = wait4(pid, &status, 0, &usage)
                break
            }
            usleep(5_000)
        }
        result.seconds = Date().timeIntervalSince(start)
        result.peakRSSBytes = Int(usage.ru_maxrss) * 1024
        // WIFSIGNALED / WEXITSTATUS, which Swift does not import.
        let termSignal = status & 0x7f
        if termSignal != 0 && termSignal != 0x7f {
            result.signal = termSignal
        } else {
            result.exitStatus = (status >> 8) & 0xff
        }
        result.stdout = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: outPath)))) ?? []
        result.stderr = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: errPath)))) ?? []
        return result
    }
}
