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
        let source: [UInt8]
        switch ScriptFile.read(answers) {
        case .success(let bytes): source = bytes
        case .failure(let problem):
            Terminal.error("kmlab: \(problem)")
            throw ExitCode(2)
        }
        let result = Grader(lesson: lesson).grade(source: source, submissionID: answers)
        if result.status == .graderError {
            Terminal.out(Array(CheckReport.render(result, lesson: lesson).utf8))
            throw ExitCode(1)
        }
        let store = ProgressStore.standard()
        let hints: [String: Int] = store.update { record in
            record.record(result, lesson: lesson.id)
            guard hint else { return [:] }
            var shown: [String: Int] = [:]
            for r in result.exercises where r.status != .pass {
                let count = lesson.exercises.first { $0.id == r.id }?.hints.count ?? 0
                shown[r.id] = record.takeHint(lesson: lesson.id, exercise: r.id, available: count)
            }
            return shown
        }
        Terminal.out(Array(CheckReport.render(result, lesson: lesson, hints: hints).utf8))
    }
}

