import ArgumentParser
import Foundation
import Lessons

/// `kmlab lessons`: every lesson with the learner's progress.
struct LessonsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lessons",
        abstract: "List the lessons and your progress.",
        discussion: """
        Lessons are read from $KMLAB_LESSONS, else from a lessons/ directory
        beside the kmlab executable (a clone), else from the copy built into
        kmlab. Progress is kept in $XDG_STATE_HOME/kmlab/progress.json
        (~/.local/state/kmlab/progress.json when XDG_STATE_HOME is unset).
        """
    )

    func run() throws {
        let catalog = try LessonCLI.catalog()
        let progress = ProgressStore.standard().load()
        var lines = LessonCLI.listing(catalog, progress: progress)
        lines.append("")
        lines.append(LessonCLI.whatIsNext(catalog, progress: progress))
        lines.append("Read one with `kmlab lesson 1`; check your answers with `kmlab check 1 answers.lua`.")
        Terminal.out(Array((lines.joined(separator: "\n") + "\n").utf8))
        // The other lessons work; the broken ones are the author's to fix.
        let problems = LessonCLI.problemLines(catalog)
        if !problems.isEmpty {
            Terminal.error(problems.joined(separator: "\n"))
            throw ExitCode(1)
        }
    }
}

/// `kmlab lesson ID [--template]`: shows a lesson, or writes a starting answers file.
struct LessonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lesson",
        abstract: "Show a lesson's text (paged on a terminal), or write a starting answers file.",
        discussion: """
        ID is the lesson's number (1), its id (01-first-allocations) or its slug (first-allocations).
        Instructors: --variant-for STUDENT shows the variant `kmlab grade` and the
        autograders grade that student's submissions as (the seed derived from the
        id and KMLAB_GRADER_SECRET, named on stderr), e.g.
        `KMLAB_GRADER_SECRET=... kmlab lesson 3 --variant-for alice`.
        """
    )

    @Argument(help: "The lesson: number, id or slug.")
    var id: String

    @Flag(help: "Print a starting answers file naming every answer and function the lesson expects.")
    var template = false

    @Option(name: .shortAndLong, help: "With --template: write to this file (never overwrites) instead of stdout.")
    var output: String?

    @Option(name: .customLong("variant-seed"),
            help: "Show the variant of this learner seed (default: yours, kept with your progress; see `kmlab check --help`).")
    var variantSeed: String?

    @OptionGroup var student: StudentVariantOption

    func run() throws {
        let lesson = try LessonCLI.learnerLesson(id, seed: student.resolvedSeed(variantSeed: variantSeed))
        if template {
            guard let output else {
                Terminal.out(Array(AnswerTemplate.text(for: lesson).utf8))
                return
            }
            switch LessonCLI.writeTemplate(for: lesson, to: output) {
            case .written: break
            case .exists:
                Terminal.error("kmlab: \(output) already exists; not overwriting it")
                throw ExitCode(2)
            case .failed:
                Terminal.error("kmlab: cannot write \(output)")
                throw ExitCode(1)
            }
            Terminal.error("wrote \(output); check it with: kmlab check \(lesson.id) \(output)")
            return
        }
        if output != nil { throw ValidationError("--output goes with --template") }
        Pager.show(LessonText.render(lesson, color: Terminal.stdoutIsTTY))
    }
}

/// Shared by the lesson commands (and the REPL's): the catalog, lesson
/// lookup with usage errors, the listing, the starting answers file.
enum LessonCLI {
    /// One line per lesson: id, progress, title (`kmlab lessons`, the REPL's
    /// `.lesson`). `current` (the REPL's lesson) is marked with `*`.
    static func listing(_ catalog: LessonCatalog, progress: ProgressRecord, current: String? = nil) -> [String] {
        let width = catalog.lessons.map(\.id.count).max() ?? 0
        return catalog.lessons.map { lesson in
            let p = progress.lessons[lesson.id]
            var mark: String
            if let p, p.completed { mark = "done \(p.bestScore)/\(p.maxScore)" }
            else if let p { mark = "best \(p.bestScore)/\(lesson.maxScore)" }
            else { mark = "new  \(lesson.maxScore) points" }
            let hints = p?.hintsShown.values.reduce(0, +) ?? 0
            if hints > 0 { mark += ", \(hints) hint\(hints == 1 ? "" : "s")" }
            let id = lesson.id.padding(toLength: width, withPad: " ", startingAt: 0)
            return "\(lesson.id == current ? "*" : " ") \(id)  \(mark.padding(toLength: 24, withPad: " ", startingAt: 0))  \(lesson.title)"
        }
    }

    /// The lesson files that did not load, each with its error (empty when all did).
    static func problemLines(_ catalog: LessonCatalog) -> [String] {
        guard !catalog.problems.isEmpty else { return [] }
        return ["kmlab: \(catalog.problems.count) lesson file\(catalog.problems.count == 1 ? "" : "s") in \(catalog.origin) cannot be used (the others work):"]
            + catalog.problems.map { "  \($0.file): \($0.message)" }
    }

    /// The first lesson not completed, started or not, and how to work on it.
    static func whatIsNext(_ catalog: LessonCatalog, progress: ProgressRecord) -> String {
        guard let next = catalog.lessons.first(where: { progress.lessons[$0.id]?.completed != true }) else {
            return "Every lesson is done: `kmlab solution N` shows any reference solution to compare with yours."
        }
        let number = next.number.map(String.init) ?? next.id
        let started = progress.lessons[next.id] != nil
        return "Next: lesson \(next.id)\(started ? " (started)" : ""): `kmlab lesson \(number)` to read it, `kmlab watch \(number)` to work on it."
    }

    enum TemplateWrite { case written, exists, failed }

    /// Writes `lesson`'s starting answers file (AnswerTemplate) to `path`;
    /// never overwrites an existing file.
    static func writeTemplate(for lesson: Lesson, to path: String) -> TemplateWrite {
        if FileManager.default.fileExists(atPath: path) { return .exists }
        do {
            try Data(AnswerTemplate.text(for: lesson).utf8).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            return .written
        } catch {
            return FileManager.default.fileExists(atPath: path) ? .exists : .failed
        }
    }

    static func catalog() throws -> LessonCatalog {
        do {
            return try LessonCatalog.standard()
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(1)
        }
    }

    /// The lesson as this learner sees it: the variant of `seed` (a
    /// `--variant-seed` value) when given, else of `KMLAB_VARIANT_SEED`,
    /// else of the learner's own seed (kept with their progress).
    static func learnerLesson(_ id: String, seed: String? = nil) throws -> Lesson {
        try learnerVariant(of: lesson(id), seed: seed)
    }

    /// `lesson` in the learner's variant (see `learnerLesson`).
    static func learnerVariant(of lesson: Lesson, seed: String? = nil) throws -> Lesson {
        let value: UInt64
        do {
            if let seed {
                guard let parsed = LearnerSeed.parse(seed) else {
                    throw LearnerSeedError(message: "--variant-seed must be a number (decimal or 0x...), got '\(seed)'")
                }
                value = parsed
            } else {
                value = try LearnerSeed.current(store: ProgressStore.standard())
            }
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(2)
        }
        do {
            return try lesson.variant(seed: value)
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(1)
        }
    }

    static func lesson(_ id: String) throws -> Lesson {
        let catalog = try catalog()
        do {
            return try catalog.lesson(id: id)
        } catch let error as LessonError {
            // A lesson that exists but does not load is the author's problem (1), not a usage error.
            Terminal.error("kmlab: \(error)")
            if case .badLesson = error { throw ExitCode(1) }
            throw ExitCode(2)
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Shows long text through `less -R` on a terminal, plainly otherwise.
///
/// less is started with posix_spawn in kmlab's own process group:
/// Foundation's `Process` puts its child in a new group, which is not the
/// terminal's foreground group, so less's reads of /dev/tty fail (EIO) and
/// it quits at once, having shown the whole text unpaged. While less runs,
/// kmlab ignores SIGINT (less handles Ctrl-C itself) and SIGPIPE (quitting
/// less before the end closes the pipe).
enum Pager {
    static func show(_ text: String) {
        guard Terminal.stdoutIsTTY, let less = ["/usr/bin/less", "/bin/less"].first(where: FileManager.default.isExecutableFile),
              page(text, with: less) else {
            Terminal.out(Array(text.utf8))
            return
        }
    }

    /// Pipes `text` into `less -R -F -X`; false when it could not start.
    private static func page(_ text: String, with less: String) -> Bool {
        fflush(stdout)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return false }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(less), strdup("-R"), strdup("-F"), strdup("-X"), nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, less, &actions, nil, argv, environ)
        close(fds[0])
        guard spawned == 0 else {
            close(fds[1])
            return false
        }
        // sigaction, not signal(): the REPL's SIGINT handler must come back
        // with its own flags (no SA_RESTART).
        var ignore = sigaction(), oldInt = sigaction(), oldPipe = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        sigaction(SIGINT, &ignore, &oldInt)
        sigaction(SIGPIPE, &ignore, &oldPipe)
        defer {
            sigaction(SIGINT, &oldInt, nil)
            sigaction(SIGPIPE, &oldPipe, nil)
        }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }   // less quit early (EPIPE)
            offset += n
        }
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return true
    }
}
