import ArgumentParser
import Foundation
import Lessons
import LuaBridge
import SafeOutput

/// `kmlab grade --lesson ID SUBMISSIONS...`: grades a class's answers files
/// in a pool of worker processes and prints one report. The work is done by
/// `BatchGrader` (Sources/Lessons/Batch); this file parses options, shows
/// progress and writes the report.
struct GradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade many answers files (a class) against a lesson: one report, resumable, shardable.",
        discussion: """
        SUBMISSIONS are files and directories (searched recursively for *.lua); each
        submission's id is its path as given, and reports list them sorted by it.
        Every submission is graded in a separate worker process, under the
        instruction and memory budgets per check and a wall-clock limit per
        submission; a worker that crashes or runs out of time is replaced and the
        submission retried once. Each result is appended to the results file
        (JSON Lines, fsynced) as soon as it is known; --resume skips submissions
        already graded there (same content, lesson, kmlab version and budgets), and
        refuses a results file graded under another grader secret (the file holds
        a fingerprint of it, never the secret).
        --shard K/N grades the submissions at positions K, K+N, K+2N, ... (1-based)
        of the sorted list; `kmlab grade --merge shard-*.jsonl` reports on them
        together, byte for byte as one unsharded run would.
        Formats: text (summary), json (schema kmlab-grade/1), csv (gradebook),
        junit (CI), gradescope (results.json), prairielearn (external grader
        results.json). See README "Grading a class" and "Running a course".
        Variants: each submission is graded as the learner of its id sees the
        lesson (question values, option order, task cases): the learner seed is
        derived from the submission id and the grader secret (the environment
        variable KMLAB_GRADER_SECRET, any text; a built-in constant when unset).
        --variant-seed N (or KMLAB_VARIANT_SEED) grades every submission with
        seed N instead (a class that all answer one variant); 0 is the lesson
        as written, which the reference solutions answer.
        Exit status: 0 when the batch was graded (whatever the scores), 3 when
        --fail-under is given and a submission scored below it, 2 on a usage
        error, 1 on an internal failure, 130 when interrupted.
        """
    )

    @Option(help: "The lesson: number, id or slug (with --merge: taken from the results).")
    var lesson: String?

    @Argument(help: "Answers files and directories (with --merge: results files).")
    var submissions: [String] = []

    @Option(help: "Worker processes (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Wall-clock seconds per submission before its worker is killed.")
    var timeout: Double = 10

    @Option(name: .customLong("max-instructions"), help: "Lua instructions per check (the answers file, each task call).")
    var maxInstructions: Int64 = GradingLimits.default.maxInstructions

    @Option(name: .customLong("max-memory"), help: "Memory per check, with K/M/G suffixes.")
    var maxMemory: String = "64M"

    @Option(help: "The results file (JSON Lines). Default: kmlab-results.jsonl next to --out, else in the current directory.")
    var results: String?

    @Flag(help: "Keep the results file and skip submissions already graded in it.")
    var resume = false

    @Option(name: .customLong("variant-seed"),
            help: "Grade every submission with this learner seed (default: one per submission, from its id and KMLAB_GRADER_SECRET).")
    var variantSeed: String?

    @Option(help: "Report format.")
    var format: BatchReport.Format = .text

    @Option(help: "Write the report to this file instead of stdout.")
    var out: String?

    @Option(help: "Grade only shard K of N (e.g. 2/4).")
    var shard: String?

    @Flag(help: "Combine results files (the arguments) into one report.")
    var merge = false

    @Flag(help: "Include grading times in the report (they vary from run to run).")
    var timings = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @OptionGroup var reportOptions: GradeReportOptions

    @OptionGroup var selection: GradeSelectionOptions

    /// A worker leaves after a job that left it above this many MiB of
    /// resident memory (default 96). Hidden: for tests and profiling (1 makes
    /// every worker leave after every job).
    @Option(name: .customLong("worker-recycle-mib"), help: .hidden)
    var workerRecycleMiB: Int?

    func validate() throws {
        if let variantSeed, LearnerSeed.parse(variantSeed) == nil {
            throw ValidationError("--variant-seed must be a number (decimal or 0x...), got '\(variantSeed)'")
        }
        guard jobs >= 1 && jobs <= 256 else { throw ValidationError("--jobs must be between 1 and 256") }
        if let mib = workerRecycleMiB, mib < 1 || mib > 1 << 20 { throw ValidationError("--worker-recycle-mib must be between 1 and 1048576") }
        guard timeout > 0 && timeout <= 86_400 else { throw ValidationError("--timeout must be a number of seconds above 0") }
        guard maxInstructions > 0 else { throw ValidationError("--max-instructions must be a positive integer") }
        guard let m = parseByteSize(maxMemory), m > 0 else {
            throw ValidationError("--max-memory must be a size such as 64M or 1G, got '\(maxMemory)'")
        }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard must be K/N with 1 <= K <= N, got '\(shard)'") }
        if submissions.isEmpty {
            throw ValidationError(merge ? "--merge needs the results files to combine" : "no submissions: give answers files or directories")
        }
        if merge {
            if shard != nil || resume || results != nil || selection.pick != nil || selection.idFrom != nil {
                throw ValidationError("--merge reads results files; --shard, --resume, --results, --pick and --id-from do not apply")
            }
        } else if lesson == nil {
            throw ValidationError("--lesson is required (the lesson the submissions answer)")
        }
    }

    func run() throws {
        let reportFormat = format
        let (lessonValue, records) = merge ? try mergedRecords() : try gradedRecords()
        let version = records.first?.kmlab ?? Kmlab.version
        var report = BatchReport(lesson: lessonValue, toolVersion: version, records: records, timings: timings)
        report.csvOptions = reportOptions.csv
        try GradeOutput.write(report.render(reportFormat), to: out)
        try reportOptions.writeFeedback(report)
        try reportOptions.checkScores(report)
    }

    // MARK: Grading

    private func gradedRecords() throws -> (Lesson, [GradeRecord]) {
        let lessonValue = try LessonCLI.lesson(lesson ?? "")
        if let out { try GradeOutput.check(out) }
        try reportOptions.checkFeedbackDirectory()
        var ids = try selection.select(submissions)
        if ids.isEmpty {
            GradeOutput.say("kmlab grade: no submissions: no *.lua files in \(submissions.joined(separator: ", "))")
            throw ExitCode(2)
        }
        if let shard, let s = Shard(shard) { ids = s.select(ids) }
        let limits = GradingLimits(maxInstructions: maxInstructions, maxMemory: parseByteSize(maxMemory) ?? GradingLimits.default.maxMemory)
        let seed = try pinnedSeed()
        var settings = BatchSettings(lesson: lessonValue, limits: limits, jobs: jobs, timeoutSeconds: timeout,
                                     workerCommand: GradeWorkerCommand.command(limits: limits, recycleMiB: workerRecycleMiB, variantSeed: seed),
                                     toolVersion: Kmlab.version)
        settings.shard = shard
        settings.secretFingerprint = Grader.secretFingerprint(Grader.configuredCaseSecret())
        // Results graded with one seed for all do not mix with per-submission ones.
        settings.options = ([selection.recorded] + (seed.map { ["--variant-seed \($0)"] } ?? []))
            .filter { !$0.isEmpty }.joined(separator: " ")
        let header = ResultsHeader(kmlab: settings.toolVersion, lesson: lessonValue.id, lessonSHA256: settings.lessonSHA256,
                                   limits: settings.limitsText, shard: shard, options: settings.options,
                                   secret: settings.secretFingerprint)
        let resultsPath = results ?? GradeOutput.defaultResultsPath(nextTo: out)
        var previous: [GradeRecord] = []
        if resume && FileManager.default.fileExists(atPath: resultsPath) {
            let old = try orInternalFailure { try ResultsFile.contents(resultsPath) }
            try orUsageError { try ResultsSet.checkResumable(path: resultsPath, headers: old.headers, records: old.records, current: header) }
            previous = old.records
        }
        let file = try orInternalFailure { try ResultsFile(path: resultsPath, resuming: resume, header: header) }
        let progress = GradeProgress(total: ids.count, quiet: quiet)
        let grader = BatchGrader(settings: settings)
        GradeSignals.install()
        do {
            let records = try grader.run(submissions: ids, previous: previous, results: file,
                                         onRecord: { progress.update($0, reused: $1) },
                                         shouldStop: { GradeSignals.stopRequested })
            progress.finish()
            if timings {
                GradeOutput.say("kmlab grade: peak worker RSS \(grader.peakWorkerRSS >> 20) MiB; workers lost (crash, timeout): \(grader.workersLost); recycled: \(grader.workersRecycled); results in \(resultsPath)")
            }
            return (lessonValue, records)
        } catch let i as BatchInterrupted {
            progress.finish()
            GradeOutput.say("kmlab grade: interrupted; \(i.graded) of \(i.total) graded and saved in \(resultsPath). Run the same command with --resume to finish.")
            throw ExitCode(130)
        } catch {
            progress.finish()
            GradeOutput.say("kmlab grade: \(error)")
            throw ExitCode(1)
        }
    }

    /// The one learner seed every submission is graded with (`--variant-seed`,
    /// else `KMLAB_VARIANT_SEED`), or nil: a seed per submission.
    private func pinnedSeed() throws -> UInt64? {
        if let variantSeed { return LearnerSeed.parse(variantSeed) }
        guard let text = ProcessInfo.processInfo.environment[LearnerSeed.environmentKey] else { return nil }
        guard let seed = LearnerSeed.parse(text) else {
            GradeOutput.say("kmlab grade: \(LearnerSeed.environmentKey) must be a number (decimal or 0x...), got '\(text)'")
            throw ExitCode(2)
        }
        return seed
    }

    // MARK: Merging

    private func mergedRecords() throws -> (Lesson, [GradeRecord]) {
        var files: [(path: String, headers: [ResultsHeader], records: [GradeRecord])] = []
        for path in submissions {
            let c = try orUsageError { try ResultsFile.contents(path) }
            files.append((path, c.headers, c.records))
        }
        let (records, notes) = try orUsageError { try ResultsSet.merge(files, allowPartial: selection.allowPartial) }
        for n in notes { GradeOutput.say("kmlab grade: \(n)") }
        guard let first = records.first.map(ResultsHeader.init) ?? files.lazy.compactMap(\.headers.first).first else {
            GradeOutput.say("kmlab grade: no results in \(submissions.joined(separator: ", "))")
            throw ExitCode(2)
        }
        let lessonValue = try LessonCLI.lesson(lesson ?? first.lesson)
        if lessonValue.id != first.lesson {
            GradeOutput.say("kmlab grade: the results are for lesson \(first.lesson), not \(lessonValue.id)")
            throw ExitCode(2)
        }
        return (lessonValue, records)
    }

    private func orInternalFailure<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            GradeOutput.say("kmlab grade: \(error)")
            throw ExitCode(1)
        }
    }

    private func orUsageError<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            GradeOutput.say("kmlab grade: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Where reports and results go.
enum GradeOutput {
    /// Next to a report written to a file; in the current directory when
    /// the report goes to stdout or to a device or FIFO (`--out /dev/null`
    /// must not put a results file in /dev).
    static func defaultResultsPath(nextTo out: String?) -> String {
        guard let out, OutputFile.isFileTarget(out) else { return "kmlab-results.jsonl" }
        return URL(fileURLWithPath: out).deletingLastPathComponent().appendingPathComponent("kmlab-results.jsonl").path
    }

    /// A message on stderr. Paths, ids and Lua errors in it come from
    /// submissions: control characters are shown escaped (see DisplayText).
    static func say(_ text: String) {
        Terminal.error(DisplayText.escapeLines(text))
    }

    /// Before grading: a report that could never be written is a usage error now, not after the batch.
    static func check(_ path: String) throws {
        do { try OutputFile.check(path) } catch {
            GradeOutput.say("kmlab grade: --out: \(error)")
            throw ExitCode(2)
        }
    }

    /// Writes the report to stdout, or to `path` (see `OutputFile`: atomic
    /// for regular files, in place for devices and FIFOs).
    static func write(_ text: String, to path: String?) throws {
        guard let path else {
            Terminal.out(Array(text.utf8))
            return
        }
        do {
            try OutputFile.write(text, to: path)
        } catch {
            GradeOutput.say("kmlab grade: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Ctrl-C and SIGTERM ask the batch to stop between results; the results
/// file already holds everything graded so far.
enum GradeSignals {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var stopRequested: Bool { flag != 0 }

    static func install() {
        signal(SIGINT) { _ in GradeSignals.flag = 1 }
        signal(SIGTERM) { _ in GradeSignals.flag = 1 }
        // A parent may have started us with them blocked (test runners do).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
