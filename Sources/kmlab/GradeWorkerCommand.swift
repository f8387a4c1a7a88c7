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

    @Option var lesson: String
    @Option(name: .customLong("max-instructions")) var maxInstructions: Int64
    @Option(name: .customLong("max-memory")) var maxMemory: Int
    @Option(name: .customLong("lesson-sha256")) var lessonSHA256: String?

    /// The command line `kmlab grade` starts its workers with: this very executable.
    static func command(lesson: Lesson, limits: GradingLimits) -> [String] {
        [executablePath(), "grade-worker", "--lesson", lesson.id,
         "--max-instructions", "\(limits.maxInstructions)", "--max-memory", "\(limits.maxMemory)",
         "--lesson-sha256", SHA256.hex(lesson.source)]
    }

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
        let lessonValue = try LessonCLI.lesson(lesson)
        if let lessonSHA256, SHA256.hex(lessonValue.source) != lessonSHA256 {
            Terminal.error("kmlab grade-worker: lesson \(lesson) is not the one the batch was started with")
            throw ExitCode(1)
        }
        let grader = Grader(lesson: lessonValue, limits: GradingLimits(maxInstructions: maxInstructions, maxMemory: maxMemory))
        let crash = ProcessInfo.processInfo.environment["KMLAB_GRADE_TEST_CRASH"].map { Array($0.utf8) }
        GradeWorker.run(grader: grader, input: 0, output: protocolOut, crashMarker: crash)
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
