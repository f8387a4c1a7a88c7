import ArgumentParser
import Foundation
import Lessons

/// `kmlab check ID answers.lua [--hint]`: grades one answers file with full feedback.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check an answers file against a lesson: points, feedback, kernel reports, hints.",
        discussion: """
        The answers file runs in the sandbox, as an instructor's grader would run
        it; each task gets a freshly booted machine. The last line is
        `score: S/M`. Progress (kmlab lessons, the REPL) is recorded only for
        your own answers: a file in the current directory (where `kmlab lesson
        N --template` and the REPL's `.lesson` put it), or any file with
        --progress; never with --no-progress. Checking a student's file
        elsewhere leaves your progress alone.
        Questions and task cases are your own variant of the lesson: the one
        your learner seed picks (drawn once and kept in your progress file,
        the one `kmlab lesson N` shows). --variant-seed N (or the environment
        variable KMLAB_VARIANT_SEED) grades as the learner with seed N sees the
        lesson: an instructor checking a student's file, or a student given
        the seed their submissions are graded with; 0 is the lesson as
        written. --variant-for ID grades as `kmlab grade` grades the student
        with that id. Task cases also depend on KMLAB_GRADER_SECRET when set.
        Exit status: 0 when the file was graded (whatever the
        score), 2 on a usage error (unknown lesson, unreadable answers file),
        1 when the lesson itself is broken.
        """
    )

    @Argument(help: "The lesson: number, id or slug.")
    var id: String

    @Argument(help: "Your answers file (Lua).")
    var answers: String

    @Flag(help: "Show the next hint for every exercise that did not pass.")
    var hint = false

    @Flag(name: .customLong("progress"), inversion: .prefixedNo,
          help: "Record the score in your progress (default: only for a file in the current directory).")
    var progress: Bool?

    @Option(name: .customLong("variant-seed"), help: "Grade against this learner seed's variant (default: yours).")
    var variantSeed: String?

    @OptionGroup var student: StudentVariantOption

    func run() throws {
        let lesson = try LessonCLI.learnerLesson(id, seed: student.resolvedSeed(variantSeed: variantSeed))
        switch CheckCommand.check(lesson, answers: answers, hint: hint, recordProgress: progress) {
        case .failure(let problem):
            Terminal.error("kmlab: \(problem)")
            throw ExitCode(2)
        case .success(let (result, text)):
            Terminal.out(Array(text.utf8))
            if result.status == .graderError { throw ExitCode(1) }
        }
    }

    /// Reads the answers file and runs the learner's check (progress in the
    /// standard store); shared with the REPL's `.check`.
    static func check(_ lesson: Lesson, answers: String, hint: Bool, recordProgress: Bool? = nil) -> Result<(result: SubmissionResult, text: String), ScriptFileProblem> {
        let record = recordProgress ?? isOwnAnswers(answers)
        return ScriptFile.read(answers).map { source in
            let (result, text) = LearnerCheck.run(lesson: lesson, source: source, submissionID: answers, hint: hint,
                                                  store: record ? ProgressStore.standard() : nil)
            // Error messages quote the file: escape what could drive the terminal.
            return (result, DisplayText.escapeLines(text))
        }
    }

    /// The learner's own answers file: one in the current directory (the
    /// place `kmlab lesson --template` and `.lesson` write it). A file in
    /// another directory (a student's submission an instructor checks) is not.
    static func isOwnAnswers(_ path: String) -> Bool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard let here = realpath(".", nil) else { return false }
        defer { free(here) }
        guard let there = realpath(directory, nil) else { return false }
        defer { free(there) }
        return strcmp(here, there) == 0
    }
}

