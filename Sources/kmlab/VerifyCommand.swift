import ArgumentParser
import Foundation
import Lessons

/// `kmlab verify [LESSON...]`: a lesson author's check of lessons against
/// their reference solution, wrong answers files, template, shortcut answers
/// and the API names they mention (`LessonVerifier`).
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check lessons: solution full marks, wrong/ files as declared, template 0, no shortcut passes, names exist.",
        discussion: """
        Lessons come from $KMLAB_LESSONS (or the checkout's lessons/), with their
        solutions/ and wrong/ directories beside them; with no LESSON, every
        lesson is verified, and lesson files that do not load are reported too.
        Mismatches are shown diff-like: `- expected`, `+ got`. Exit status: 0 when
        everything matched, 1 on any mismatch or broken lesson file, 2 on a usage
        error (unknown lesson, no lessons directory).
        """
    )

    @Argument(help: "Lessons to verify (number, id or slug); default: all.")
    var lessons: [String] = []

    @Flag(help: "Show only what did not match.")
    var quiet = false

    func run() throws {
        let catalog = try LessonCLI.catalog()
        guard catalog.origin != "built-in" else {
            Terminal.error("kmlab verify: no lessons directory: set KMLAB_LESSONS to a directory of NN-slug.lua files with solutions/ and wrong/")
            throw ExitCode(2)
        }
        let directory = URL(fileURLWithPath: catalog.origin)
        var chosen: [Lesson] = []
        var broken = lessons.isEmpty ? catalog.problems : []
        for id in lessons {
            do {
                chosen.append(try catalog.lesson(id: id))
            } catch LessonError.badLesson(let message) {
                broken.append(LessonProblem(file: id, message: message))
            } catch {
                Terminal.error("kmlab verify: \(error)")
                throw ExitCode(2)
            }
        }
        if lessons.isEmpty { chosen = catalog.lessons }
        var failures = 0
        var out: [String] = []
        for problem in broken {
            failures += 1
            out.append("FAIL  \(problem.file): the lesson does not load")
            out.append("      + \(problem.message)")
        }
        for lesson in chosen {
            out.append("lesson \(lesson.id)")
            for check in LessonVerifier(lesson: lesson, directory: directory).run() {
                if !check.passed { failures += 1 }
                if quiet && check.passed { continue }
                out.append("  \(check.passed ? "ok  " : "FAIL")  \(check.name)")
                out += check.lines.map { "        " + $0 }
            }
            Terminal.out(Array((out.joined(separator: "\n") + "\n").utf8))
            fflush(stdout)
            out = []
        }
        out.append(failures == 0 ? "verify: \(chosen.count) lesson\(chosen.count == 1 ? "" : "s"), everything matched"
                                 : "verify: \(failures) mismatch\(failures == 1 ? "" : "es")")
        Terminal.out(Array((out.joined(separator: "\n") + "\n").utf8))
        if failures > 0 { throw ExitCode(1) }
    }
}
