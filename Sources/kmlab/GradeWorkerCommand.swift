import ArgumentParser
import Foundation
import Lessons
import LuaBridge

/// `kmlab grade-worker` (hidden): one process of `kmlab grade`'s pool. Reads
/// jobs on stdin and writes JSON results on stdout (see `WorkerProtocol`).
/// Anything else the process might print goes to /dev/null, so nothing can
/// corrupt the protocol.
struct GradeWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade-worker",
        abstract: "Internal: a worker process of `kmlab grade`.",
        shouldDisplay: false
    )

    @Option(name: .customLong("max-instructions")) var maxInstructions: Int64
    @Option(name: .customLong("max-memory")) var maxMemory: Int
    @Option(name: .customLong("recycle-rss")) var recycleRSS: Int = 0
    /// Every submission graded with this learner seed; without it each gets
    /// the seed of its id and the grader's secret (`KMLAB_GRADER_SECRET`, inherited).
    @Option(name: .customLong("variant-seed")) var variantSeed: UInt64?

    /// The command line `kmlab grade` starts its workers with: this very
    /// executable. The lesson itself comes first on stdin.
    static func command(limits: GradingLimits, recycleMiB: Int? = nil, variantSeed: UInt64? = nil) -> [String] {
        [executablePath(), "grade-worker",
         "--max-instructions", "\(limits.maxInstructions)", "--max-memory", "\(limits.maxMemory)",
         "--recycle-rss", "\(recycleMiB.map { $0 << 20 } ?? recycleThreshold(limits))"]
            + (variantSeed.map { ["--variant-seed", "\($0)"] } ?? [])
    }

    /// A worker ends after a job that left it above this resident size (96
    /// MiB), and the pool starts a fresh one. A check that legitimately uses
    /// its whole memory budget only costs a restart.
    static func recycleThreshold(_ limits: GradingLimits) -> Int { 96 << 20 }

    static func executablePath() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    func run() throws {
        // The parent handles Ctrl-C (it kills its workers).
        signal(SIGINT, SIG_IGN)
        let protocolOut = dup(1)
        let devNull = open("/dev/null", O_WRONLY)
        if devNull >= 0 { dup2(devNull, 1); close(devNull) }
        Self.exitWithParent()
        Self.keepFreedMemory()
        let crash = ProcessInfo.processInfo.environment["KMLAB_GRADE_TEST_CRASH"].map { Array($0.utf8) }
        do {
            try GradeWorker.run(limits: GradingLimits(maxInstructions: maxInstructions, maxMemory: maxMemory),
                                input: 0, output: protocolOut, recycleRSS: recycleRSS, crashMarker: crash,
                                variantSeed: variantSeed, caseSecret: Grader.configuredCaseSecret())
        } catch {
            Terminal.error("kmlab grade-worker: \(error)")
            throw ExitCode(1)
        }
    }

    /// Every check allocates and frees the same large blocks (a Lua state,
    /// a machine, a lesson's big strings). glibc would map and unmap each
    /// block above 128 KiB, and the kernel would zero its pages every time;
    /// keeping freed memory in the heap instead saves that. Peak RSS is
    /// unchanged: it is bounded by the largest check.
    static func keepFreedMemory() {
        // <malloc.h> is not in Swift's Glibc module: look mallopt up.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let M_TRIM_THRESHOLD: Int32 = -1, M_MMAP_THRESHOLD: Int32 = -3
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }

    /// A worker busy in a CPU bomb would not notice its stdin closing: a
    /// watchdog thread ends it when the parent is gone.
    static func exitWithParent() {
        let parent = getppid()
        Thread.detachNewThread {
            while true {
                sleep(1)
                if getppid() != parent { _exit(0) }
            }
        }
    }
}
