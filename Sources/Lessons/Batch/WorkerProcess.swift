import Foundation

/// One `kmlab grade-worker` child: pipes to its stdin and from its stdout,
/// the job it is grading, and what it has streamed back for that job.
final class WorkerProcess {
    let pid: pid_t
    /// Parent's ends: write jobs here, read messages there (non-blocking).
    let toWorker: Int32
    let fromWorker: Int32
    var ready = false
    /// Said it is leaving after its last result: send it nothing more.
    var retiring = false
    var job: BatchJob?
    /// A job sent while `job` runs, and its sequence number (see `send`).
    private(set) var queued: (job: BatchJob, seq: Int)?
    /// The sequence number the current job was sent with.
    var seq = 0
    var sentAt: UInt64 = 0
    /// Exercises streamed for the current job, in lesson order, as the JSON
    /// lines they came in: decoded only if the worker dies before its
    /// result (which repeats them), so a batch decodes each exercise once.
    var partialLines: [Data] = []
    /// `partialLines`, decoded.
    var partial: [ExerciseResult] {
        let decoder = JSONDecoder()
        return partialLines.compactMap { try? decoder.decode(WorkerProtocol.Message.self, from: $0).exercise }
    }
    private var buffer: [UInt8] = []
    /// Reused by every read (a fresh zeroed 64 KiB array per read showed).
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private var closed = false

    /// Starts `command` (executable path first) with pipes on fds 0 and 1;
    /// stderr is inherited so a crash message reaches the instructor.
    init(command: [String], lesson: Lesson) throws {
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw BatchError.workers("cannot create a pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            throw BatchError.workers("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so that no other worker inherits these ends (a
        // worker would then never see its stdin close). The spawned child's
        // dup2 copies on fds 0 and 1 do not inherit the flag.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // No signal blocked in the worker, whatever the parent inherited.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let envp: [UnsafeMutablePointer<CChar>?] = WorkerProcess.environment().map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw BatchError.workers("cannot start the grading worker \(command[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        toWorker = toChild[1]
        fromWorker = fromChild[0]
        _ = fcntl(fromWorker, F_SETFL, fcntl(fromWorker, F_GETFL) | O_NONBLOCK)
        // A worker that dies at once is noticed by the pool (its stdout ends).
        _ = writeAll(toWorker, WorkerProtocol.lessonFrame(lesson))
    }

    /// Sends a job; false if the worker is gone. A worker that is busy gets
    /// it queued behind the current one (see `canQueue`), so that it starts
    /// the next submission as soon as it sends a result instead of waiting
    /// for the pool to answer: the pool's turn-around was a tenth of a
    /// worker's time.
    func send(_ job: BatchJob, seq: Int) -> Bool {
        let id = Array(job.id.utf8)
        let frame = WorkerProtocol.jobHeader(seq: seq, id: id, source: job.source) + id + job.source
        if self.job == nil {
            self.job = job
            self.seq = seq
            partialLines = []
            sentAt = monotonicNanoseconds()
        } else {
            queued = (job, seq)
        }
        return writeAll(toWorker, frame)
    }

    /// Whether a job may wait behind the current one: the worker reads it
    /// only when the current one is done, so its frame must fit in the pipe
    /// (a write that blocked would stall the whole pool).
    func canQueue(_ job: BatchJob) -> Bool {
        self.job != nil && queued == nil && !retiring && ready && job.source.count + job.id.utf8.count <= 16 << 10
    }

    /// The current job is done: the queued one (if any) becomes current,
    /// its clock starting now.
    func promote() {
        job = nil
        partialLines = []
        guard let (next, nextSeq) = queued else { return }
        queued = nil
        job = next
        seq = nextSeq
        sentAt = monotonicNanoseconds()
    }

    /// Takes back the queued job, which the worker has not started.
    func takeQueued() -> BatchJob? {
        defer { queued = nil }
        return queued?.job
    }

    /// The worker's environment: the parent's, with a larger glibc thread
    /// cache of freed blocks. A worker builds and frees a Lua state with
    /// thousands of small blocks for every check, and with the default cache
    /// (7 blocks a size) most of them took malloc's slow paths: about a fifth
    /// of a worker's time. Other C libraries ignore the variable.
    static func environment() -> [String] {
        let tunable = "glibc.malloc.tcache_count=4096"
        var env: [String] = []
        var tuned = false
        var p = environ
        while let entry = p.pointee {
            var s = String(cString: entry)
            if s.hasPrefix("GLIBC_TUNABLES=") {
                s += (s.count > "GLIBC_TUNABLES=".count ? ":" : "") + tunable
                tuned = true
            }
            env.append(s)
            p += 1
        }
        if !tuned { env.append("GLIBC_TUNABLES=" + tunable) }
        return env
    }

    /// Reads what is available: the decoded messages, and whether the
    /// worker's stdout reached its end (it exited or crashed).
    func receive() -> (messages: [WorkerProtocol.Message], ended: Bool) {
        var ended = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fromWorker, $0.baseAddress, $0.count) }
            if n > 0 { buffer += chunk[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { ended = true }
            break
        }
        var messages: [WorkerProtocol.Message] = []
        let decoder = JSONDecoder()
        var start = buffer.startIndex
        while let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Data(buffer[start..<nl])
            start = nl + 1
            if let seq = WorkerProtocol.exerciseLineSeq(line) {
                messages.append(WorkerProtocol.Message(seq: seq, exerciseLine: line))
            } else if let m = try? decoder.decode(WorkerProtocol.Message.self, from: line) {
                messages.append(m)
            }
        }
        buffer.removeSubrange(..<start)
        return (messages, ended)
    }

    /// Kills (if asked) and reaps the worker: how it ended, and its peak RSS in bytes.
    func stop(kill shouldKill: Bool) -> (description: String, peakRSS: Int) {
        if !closed {
            closed = true
            close(toWorker)
            close(fromWorker)
        }
        if shouldKill { kill(pid, SIGKILL) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let rss = Int(usage.ru_maxrss) * 1024
        if status & 0x7f != 0 { return ("killed by signal \(status & 0x7f)", rss) }
        return ("exited with status \((status >> 8) & 0xff)", rss)
    }
}

/// A submission on its way through the pool.
struct BatchJob {
    var id: String
    var source: [UInt8]
    var sha256: String
    var attempt = 1
    /// The most exercises any attempt streamed back.
    var best: [ExerciseResult] = []
    var elapsedNanoseconds: UInt64 = 0
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
