import ArgumentParser
import Foundation
import Lessons

/// `kmlab solution ID [--force]`: the reference solution, once the lesson is passed.
struct SolutionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solution",
        abstract: "Show a lesson's reference solution (once you have passed the lesson).",
        discussion: """
        Compare it with yours: there is more than one right answer, and the
        comments say why each line is there. Its question answers are those
        of your own variant of the lesson (KMLAB_VARIANT_SEED pins another;
        --variant-for ID shows a student's, as kmlab grade grades them). Before the lesson is passed
        (every exercise at once, in one check) it is refused, so that it
        does not spoil the exercise; --force shows it anyway.
        """
    )

    @Argument(help: "The lesson: number, id or slug.")
    var id: String

    @Flag(help: "Show it even though the lesson is not passed yet.")
    var force = false

    @OptionGroup var student: StudentVariantOption

    func run() throws {
        let catalog = try LessonCLI.catalog()
        let lesson = try LessonCLI.lesson(id)
        guard let text = BundledFiles.solution(for: lesson, catalog: catalog) else {
            Terminal.error("kmlab: lesson \(lesson.id) has no reference solution")
            throw ExitCode(1)
        }
        let progress = ProgressStore.standard().load().lessons[lesson.id]
        guard force || progress?.completed == true else {
            let number = lesson.number.map(String.init) ?? lesson.id
            let sofar = progress.map { " (your best so far: \($0.bestScore)/\(lesson.maxScore))" } ?? ""
            Terminal.error("""
                The solution to lesson \(lesson.id) opens once you have passed it\(sofar).
                Keep going: `kmlab watch \(number)` re-checks your answers on every save, `h` there gives hints.
                (`kmlab solution \(number) --force` shows it now, if you have decided to look.)
                """)
            throw ExitCode(1)
        }
        // The learner's own variant: the questions' answers are theirs.
        let shown = SolutionVariant.rewrite(text, for: try LessonCLI.learnerVariant(of: lesson, seed: student.resolvedSeed(variantSeed: nil)),
                                            writtenAs: try lesson.variant(seed: 0))
        Pager.show(shown.hasSuffix("\n") ? shown : shown + "\n")
    }
}

/// `kmlab example [NAME] [--write]`: the example files the lessons point to.
struct ExampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Print an example the lessons mention (kmlab example nic), or write it here.",
        discussion: "Without NAME, lists them. The examples are built into kmlab, so this works from any directory."
    )

    @Argument(help: "The example: nic or nic.lua.")
    var name: String?

    @Flag(help: "Write NAME.lua into the current directory (never overwriting a file) instead of printing it.")
    var write = false

    func run() throws {
        let catalog = try LessonCLI.catalog()
        guard let name else {
            let names = BundledFiles.exampleNames(catalog: catalog)
            Terminal.out(Array((names.map { "  " + $0 }.joined(separator: "\n") + "\n\nPrint one with `kmlab example NAME`; "
                + "`--write` saves it here, then `kmlab run NAME.lua` runs it.\n").utf8))
            return
        }
        guard let example = BundledFiles.example(name, catalog: catalog) else {
            let names = BundledFiles.exampleNames(catalog: catalog).map { String($0.dropLast(4)) }
            Terminal.error("kmlab: no example '\(name)'; the examples are: \(names.joined(separator: ", "))")
            throw ExitCode(2)
        }
        guard write else {
            Terminal.out(Array(example.source.utf8))
            return
        }
        if FileManager.default.fileExists(atPath: example.name) {
            Terminal.error("kmlab: \(example.name) already exists; not overwriting it")
            throw ExitCode(2)
        }
        do {
            try Data(example.source.utf8).write(to: URL(fileURLWithPath: example.name), options: .withoutOverwriting)
        } catch {
            Terminal.error("kmlab: cannot write \(example.name)")
            throw ExitCode(1)
        }
        Terminal.error("wrote \(example.name); run it with: kmlab run \(example.name)")
    }
}
