import ArgumentParser
import Foundation
import Lessons

/// `kmlab watch [LESSON] [FILE]`: re-checks an answers file on every save.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Re-check your answers file every time you save it.",
        discussion: """
        Shows the first exercise that does not pass yet, with its feedback; keys:
        h the next hint, r check again, l list every exercise, q quit. Progress
        and hints count as with `kmlab check`. It never moves to the next
        lesson by itself.

        LESSON is a number, id or slug; FILE defaults to answers-ID.lua in the
        current directory (created from the template when missing). With only
        FILE, a name like answers-03-contiguity.lua says the lesson. With
        neither, the most recently saved answers-ID.lua here is watched, else
        the first lesson you have not completed.

        Saves are noticed with inotify; --poll looks every 200 ms instead (for
        network filesystems and containers where inotify stays silent).
        """
    )

    @Argument(help: "The lesson (number, id or slug) and/or the answers file.")
    var arguments: [String] = []

    @Flag(help: "Look for saves by polling instead of inotify.")
    var poll = false

    func run() throws {
        guard arguments.count <= 2 else { throw ValidationError("at most a LESSON and a FILE") }
        let catalog = try LessonCLI.catalog()
        let (written, answers) = try WatchCommand.resolve(arguments, catalog: catalog)
        // The learner's own variant, as `kmlab lesson` and `kmlab check` show and grade it.
        let lesson = try LessonCLI.learnerVariant(of: written)
        var notice: String?
        if !FileManager.default.fileExists(atPath: answers) {
            switch LessonCLI.writeTemplate(for: lesson, to: answers) {
            case .written, .exists: notice = "Wrote \(answers) from the lesson's template: open it in your editor."
            case .failed:
                Terminal.error("kmlab: cannot write \(answers)")
                throw ExitCode(1)
            }
        }
        let next = catalog.lessons.firstIndex { $0.id == lesson.id }.flatMap { i in
            i + 1 < catalog.lessons.count ? catalog.lessons[i + 1] : nil
        }
        let session = WatchSession(lesson: lesson, answers: answers, nextLesson: next, forcePolling: poll)
        session.notice = notice
        session.run()
    }

    /// The lesson and answers file the arguments name (see the discussion).
    static func resolve(_ arguments: [String], catalog: LessonCatalog,
                        directory: String = FileManager.default.currentDirectoryPath,
                        progress: ProgressRecord = ProgressStore.standard().load()) throws -> (Lesson, String) {
        func lesson(_ id: String) throws -> Lesson {
            do { return try catalog.lesson(id: id) } catch {
                Terminal.error("kmlab: \(error)")
                throw ExitCode(2)
            }
        }
        func defaultFile(_ l: Lesson) -> String { relative("answers-\(l.id).lua", in: directory) }
        func looksLikeFile(_ s: String) -> Bool { s.hasSuffix(".lua") || s.contains("/") || FileManager.default.fileExists(atPath: s) }

        switch arguments.count {
        case 2:
            return (try lesson(arguments[0]), arguments[1])
        case 1 where looksLikeFile(arguments[0]):
            let file = arguments[0]
            guard let l = lessonNamed(byFile: file, catalog: catalog) else {
                Terminal.error("kmlab: which lesson is \(file) for? Name it: kmlab watch LESSON \(file)")
                throw ExitCode(2)
            }
            return (l, file)
        case 1:
            let l = try lesson(arguments[0])
            return (l, defaultFile(l))
        default:
            if let recent = mostRecentAnswers(in: directory, catalog: catalog) { return recent }
            guard let l = catalog.lessons.first(where: { progress.lessons[$0.id]?.completed != true }) ?? catalog.lessons.first else {
                Terminal.error("kmlab: no lessons found")
                throw ExitCode(1)
            }
            return (l, defaultFile(l))
        }
    }

    /// `name` in `directory`, as a relative path when that is the current directory.
    static func relative(_ name: String, in directory: String) -> String {
        directory == FileManager.default.currentDirectoryPath ? name : directory + "/" + name
    }

    /// `answers-03-contiguity.lua` → lesson 03-contiguity.
    static func lessonNamed(byFile file: String, catalog: LessonCatalog) -> Lesson? {
        let name = URL(fileURLWithPath: file).lastPathComponent
        guard name.hasPrefix("answers-"), name.hasSuffix(".lua"), name.count > 12 else { return nil }
        return try? catalog.lesson(id: String(name.dropFirst(8).dropLast(4)))
    }

    /// The answers file in `directory` saved last, if any names a lesson.
    static func mostRecentAnswers(in directory: String, catalog: LessonCatalog) -> (Lesson, String)? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var best: (Lesson, String, Date)?
        for name in names.sorted() {
            let path = relative(name, in: directory)
            guard let l = lessonNamed(byFile: name, catalog: catalog),
                  let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
            if best.map({ date > $0.2 }) ?? true { best = (l, path, date) }
        }
        return best.map { ($0.0, $0.1) }
    }
}
