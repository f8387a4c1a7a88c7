import Foundation

/// What a batch is graded with.
public struct BatchSettings: Sendable {
    public var lesson: Lesson {
        didSet { lessonSHA256 = SHA256.hex(lesson.source) }
    }
    /// The lesson text's SHA-256, recorded with every result (computed once,
    /// not per submission).
    public private(set) var lessonSHA256: String
    public var limits: GradingLimits
    /// Worker processes (at least 1).
    public var jobs: Int
    /// Wall-clock seconds per submission and attempt, backing up the
    /// instruction budget (a CPU bomb inside one C function is not counted
    /// in instructions).
    public var timeoutSeconds: Double
    /// The worker: executable path and arguments (`kmlab grade-worker ...`).
    public var workerCommand: [String]
    /// The kmlab version, recorded with every result.
    public var toolVersion: String
    /// `K/N` when grading one shard, recorded with every result.
    public var shard: String?
    /// The options that decide what is graded and how it is named
    /// (`--id-from`, `--pick`), recorded with every result: `--resume` and
    /// `--merge` refuse results made with other ones.
    public var options: String = ""
    /// `Grader.secretFingerprint` of the secret the workers grade with
    /// (they inherit KMLAB_GRADER_SECRET), recorded with every result.
    public var secretFingerprint: String?

    public init(lesson: Lesson, limits: GradingLimits, jobs: Int, timeoutSeconds: Double,
                workerCommand: [String], toolVersion: String) {
        self.lesson = lesson
        self.lessonSHA256 = SHA256.hex(lesson.source)
        self.limits = limits
        self.jobs = max(1, jobs)
        self.timeoutSeconds = timeoutSeconds
        self.workerCommand = workerCommand
        self.toolVersion = toolVersion
    }

    /// The budgets as recorded in results files.
    public var limitsText: String { "instructions=\(limits.maxInstructions),memory=\(limits.maxMemory)" }
}

/// The batch was interrupted (Ctrl-C, SIGTERM) before every submission was graded.
public struct BatchInterrupted: Error {
    public var graded: Int
    public var total: Int
}

/// Grades many submissions in a pool of worker processes.
///
/// Each submission is read here (unreadable ones get their result at once),
/// reused from a previous results file when `--resume` found a record with
/// the same key, or sent to an idle worker. A worker that dies or exceeds
/// the wall-clock limit is killed and replaced, and its submission is
/// graded once more by a fresh worker; if that fails too, the submission
/// keeps the exercises judged before the failure and the exercise that was
/// running (and those after it) get `timeout` or `grader-error`.
public final class BatchGrader {
    public let settings: BatchSettings
    /// Peak RSS of any worker so far, in bytes (from `wait4`).
    public private(set) var peakWorkerRSS = 0
    /// Workers killed or lost so far (timeouts and crashes).
    public private(set) var workersLost = 0
    /// Workers that ended between jobs (recycled, see `GradeWorker`).
    public private(set) var workersRecycled = 0

    private var workers: [WorkerProcess] = []
    /// The student of each submission id (`--id-from`).
    private var students: [String: String] = [:]
    /// The fingerprint of each source read (see `Fingerprint`).
    private var fingerprints: [String: String] = [:]
    private var sequence = 0
    private var startFailures = 0

    public init(settings: BatchSettings) { self.settings = settings }

    /// Grades `submissions` (already sorted and sharded). `previous` are records to
    /// reuse; every new record is appended to `results` before `onRecord`
    /// sees it. Returns every record, sorted by id. Throws `BatchInterrupted`
    /// when `shouldStop` turns true, `BatchError` when workers cannot run.
    public func run(submissions: [SubmissionRef], previous: [GradeRecord], results: ResultsFile?,
                    onRecord: (GradeRecord, _ reused: Bool) -> Void,
                    shouldStop: () -> Bool) throws -> [GradeRecord] {
        signal(SIGPIPE, SIG_IGN)
        let ids = submissions
        students = Dictionary(submissions.compactMap { r in r.student.map { (r.id, $0) } }, uniquingKeysWith: { a, _ in a })
        let reusable = Dictionary(previous.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        var done: [String: GradeRecord] = [:]
        var queue: [BatchJob] = []
        var next = 0
        defer { shutdown() }

        func finish(_ record: GradeRecord, reused: Bool) throws {
            if !reused { try results?.append(record) }
            done[record.result.id] = record
            onRecord(record, reused)
        }

        /// The next job to send: a retry first, else the next readable, not
        /// yet graded submission (others are finished on the way).
        func nextJob() throws -> BatchJob? {
            if !queue.isEmpty { return queue.removeFirst() }
            while next < ids.count {
                let ref = ids[next]
                let submission = SubmissionFinder.read(ref)
                next += 1
                switch submission.content {
                case .unreadable(let why):
                    try finish(record(unreadable(submission.id, why, status: ref.missing != nil ? .missing : .unreadable), sha256: "", ms: 0), reused: false)
                case .source(let bytes, let hash):
                    fingerprints[submission.id] = Fingerprint.of(bytes)
                    let probe = record(SubmissionResult(id: submission.id, status: .graded, exercises: []), sha256: hash, ms: 0)
                    if let old = reusable[probe.key], old.reusable {
                        try finish(old, reused: true)
                    } else {
                        return BatchJob(id: submission.id, source: bytes, sha256: hash)
                    }
                }
            }
            return nil
        }

        var waiting = try nextJob()
        while waiting != nil || workers.contains(where: { $0.job != nil }) {
            if shouldStop() { throw BatchInterrupted(graded: done.count, total: ids.count) }
            // Enough workers for the work in sight.
            let pending = waiting == nil ? 0 : 1 + queue.count + (ids.count - next)
            while workers.count < settings.jobs && workers.filter({ $0.job == nil && !$0.retiring }).count < pending {
                try startWorker()
            }
            // Hand out jobs to idle, ready workers; then one more behind each
            // busy one (see `WorkerProcess.send`).
            for w in workers where w.ready && w.job == nil && !w.retiring {
                guard let job = waiting else { break }
                sequence += 1
                if w.send(job, seq: sequence) {
                    waiting = try nextJob()
                } else {
                    w.job = job  // gone: found dead below
                }
            }
            // Not near the end of the batch: there a job waiting behind a slow
            // submission would wait while another worker ran out of work.
            let left = waiting == nil ? 0 : 1 + queue.count + (ids.count - next)
            for w in workers where left >= 2 * settings.jobs {
                guard let job = waiting, w.canQueue(job) else { continue }
                sequence += 1
                if w.send(job, seq: sequence) {
                    waiting = try nextJob()
                } else {
                    _ = w.takeQueued()  // gone: found dead below; the job stays waiting
                }
            }
            try pollWorkers(finish: { try finish($0, reused: false) }, retry: { queue.append($0); if waiting == nil { waiting = try nextJob() } })
        }
        return done.values.sorted { SubmissionFinder.byteOrder($0.result.id, $1.result.id) }
    }

    // MARK: The pool

    private func startWorker() throws {
        workers.append(try WorkerProcess(command: settings.workerCommand, lesson: settings.lesson))
    }

    /// Waits (at most until the nearest deadline) for worker output and
    /// handles results, deaths and timeouts.
    private func pollWorkers(finish: (GradeRecord) throws -> Void, retry: (BatchJob) throws -> Void) throws {
        let now = monotonicNanoseconds()
        let limit = UInt64(settings.timeoutSeconds * 1e9)
        var waitMs = 250
        for w in workers where w.job != nil {
            let left = Int64(bitPattern: (w.sentAt &+ limit) &- now) / 1_000_000
            waitMs = min(waitMs, max(0, Int(left) + 1))
        }
        var fds = workers.map { pollfd(fd: $0.fromWorker, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), Int32(waitMs))
        var lost: [(WorkerProcess, timedOut: Bool)] = []
        for (i, w) in workers.enumerated() where fds[i].revents != 0 {
            let (messages, ended) = w.receive()
            for m in messages {
                if m.ready == true { w.ready = true; startFailures = 0 }
                guard w.job != nil, m.seq == w.seq else { continue }
                if m.recycling == true {
                    // It leaves after this result, without reading what waits for it.
                    w.retiring = true
                    if let next = w.takeQueued() { try retry(next) }
                }
                if let line = m.exerciseLine { w.partialLines.append(line) }
                if let r = m.result, var job = w.job {
                    job.elapsedNanoseconds &+= monotonicNanoseconds() &- w.sentAt
                    w.promote()
                    try finish(record(r, sha256: job.sha256, ms: Int(job.elapsedNanoseconds / 1_000_000)))
                }
            }
            if ended { lost.append((w, false)) }
        }
        let after = monotonicNanoseconds()
        for w in workers where w.job != nil && after &- w.sentAt > limit && !lost.contains(where: { $0.0 === w }) {
            lost.append((w, true))
        }
        for (w, timedOut) in lost {
            workers.removeAll { $0 === w }
            let (how, rss) = w.stop(kill: true)
            peakWorkerRSS = max(peakWorkerRSS, rss)
            // A job queued behind the lost one never started: it goes back as it was.
            if let next = w.takeQueued() { try retry(next) }
            guard var job = w.job else {
                if w.ready {
                    workersRecycled += 1
                } else {
                    startFailures += 1
                    if startFailures >= 3 { throw BatchError.workers("the grading worker failed to start (\(how)): see the messages above") }
                }
                continue
            }
            workersLost += 1
            job.elapsedNanoseconds &+= after &- w.sentAt
            let partial = w.partial
            if partial.count > job.best.count { job.best = partial }
            if job.attempt == 1 {
                job.attempt = 2
                try retry(job)
            } else {
                let result = abandoned(job, timedOut: timedOut, how: how)
                var r = record(result, sha256: job.sha256, ms: Int(job.elapsedNanoseconds / 1_000_000))
                r.hostFailure = true
                try finish(r)
            }
        }
    }

    private func shutdown() {
        for w in workers {
            let (_, rss) = w.stop(kill: w.job != nil)
            peakWorkerRSS = max(peakWorkerRSS, rss)
        }
        workers = []
    }

    // MARK: Results made here

    func record(_ r: SubmissionResult, sha256: String, ms: Int) -> GradeRecord {
        GradeRecord(kmlab: settings.toolVersion, lesson: settings.lesson.id, lessonSHA256: settings.lessonSHA256,
                    limits: settings.limitsText, sha256: sha256, ms: ms, result: r, student: students[r.id],
                    shard: settings.shard, options: settings.options.isEmpty ? nil : settings.options,
                    fingerprint: fingerprints[r.id], secretFingerprint: settings.secretFingerprint)
    }

    func unreadable(_ id: String, _ why: String, status: SubmissionResult.Status = .unreadable) -> SubmissionResult {
        let rows = settings.lesson.exercises.map {
            ExerciseResult(id: $0.id, status: .error, score: 0, maxScore: $0.points, feedback: "not graded: " + why)
        }
        return SubmissionResult(id: id, status: status, exercises: rows)
    }

    /// Both attempts failed: keep what was judged, blame the exercise that was running.
    func abandoned(_ job: BatchJob, timedOut: Bool, how: String) -> SubmissionResult {
        let verdict: Verdict = timedOut ? .timeout : .graderError
        let seconds = settings.timeoutSeconds == settings.timeoutSeconds.rounded() ? "\(Int(settings.timeoutSeconds))" : "\(settings.timeoutSeconds)"
        let reason = timedOut
            ? "grading stopped at the wall-clock limit of \(seconds) s per submission (twice): something ran too long inside one library call, where the instruction budget cannot stop it (a pathological string pattern?)"
            : "the grading worker crashed (\(how)) twice on this submission"
        let exercises = settings.lesson.exercises
        var rows: [ExerciseResult] = []
        for (i, e) in exercises.enumerated() {
            if i < job.best.count {
                rows.append(job.best[i])
            } else if job.best.isEmpty {
                rows.append(ExerciseResult(id: e.id, status: verdict, score: 0, maxScore: e.points,
                                           feedback: "your answers file did not finish: " + reason))
            } else if i == job.best.count {
                rows.append(ExerciseResult(id: e.id, status: verdict, score: 0, maxScore: e.points, feedback: reason))
            } else {
                rows.append(ExerciseResult(id: e.id, status: verdict, score: 0, maxScore: e.points,
                                           feedback: "not graded: grading stopped at \(exercises[job.best.count].id)"))
            }
        }
        let status: SubmissionResult.Status = timedOut ? (job.best.isEmpty ? .error : .graded) : .graderError
        return SubmissionResult(id: job.id, status: status, exercises: rows)
    }
}
