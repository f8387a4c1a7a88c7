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
        `score: S/M`. Exit status: 0 when the file was graded (whatever the
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

    func run() throws {
        let lesson = try LessonCLI.lesson(id)
        switch CheckCommand.check(lesson, answers: answers, hint: hint) {
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
    static func check(_ lesson: Lesson, answers: String, hint: Bool) -> Result<(result: SubmissionResult, text: String), ScriptFileProblem> {
        ScriptFile.read(answers).map { source in
            LearnerCheck.run(lesson: lesson, source: source, submissionID: answers, hint: hint, store: ProgressStore.standard())
        }
    }
}

