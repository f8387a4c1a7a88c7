import Foundation
import Lessons

/// The lesson flow inside the REPL, the same engine as `kmlab lessons`,
/// `kmlab lesson` and `kmlab check`:
///
///     .lesson            the lessons with your progress (* marks the current one)
///     .lesson 5          shows lesson 5, makes it current, creates
///                        ./answers-05-contexts-gfp.lua from the template (never overwrites)
///     .step              the current lesson's first exercise not passed yet
///     .check [FILE]      grades the answers file (or FILE) exactly as `kmlab check`
///     .hint              the next hint for the first exercise the answers file
///                        fails, for the failure it has (as `--hint` chooses it)
///
/// The learner experiments at the prompt and `.load`s the answers file to try
/// their functions; grading never touches the REPL's machine or globals (the
/// grader boots its own sandboxed states).
extension ReplPlugins.Lessons: ReplCommandProvider {
    static var replCommands: [ReplCommand] {
        [
            ReplCommand(name: "lesson", usage: ".lesson ID",
                        summary: "show a lesson, make it current, create its answers file (no ID: list them)") { ctx, args in
                ReplLessonFlow(ctx).lesson(args)
                return .continue
            },
            ReplCommand(name: "step", summary: "the current lesson's next unfinished exercise") { ctx, _ in
                ReplLessonFlow(ctx).step()
                return .continue
            },
            ReplCommand(name: "check", usage: ".check [FILE] [--hint]",
                        summary: "grade the current lesson's answers file (or FILE), as kmlab check") { ctx, args in
                ReplLessonFlow(ctx).check(args)
                return .continue
            },
            ReplCommand(name: "hint", summary: "the next hint for your answers file's first failing exercise") { ctx, _ in
                ReplLessonFlow(ctx).hint()
                return .continue
            },
        ]
    }
}

/// The lesson the REPL is on and the answers file `.check` grades by default.
struct ReplCurrentLesson {
    var lesson: Lesson
    var answers: String

    /// `answers-05-contexts-gfp.lua`, in the current directory.
    static func answersFileName(_ lesson: Lesson) -> String { "answers-\(lesson.id).lua" }
}

/// One lesson command's work on the session's lesson state (kept in
/// `ReplContext.userInfo`).
struct ReplLessonFlow {
    let ctx: ReplContext

    init(_ ctx: ReplContext) { self.ctx = ctx }

    static let catalogKey = "lessons.catalog"
    static let currentKey = "lessons.current"

    var current: ReplCurrentLesson? {
        get { ctx.userInfo[Self.currentKey] as? ReplCurrentLesson }
        nonmutating set { ctx.userInfo[Self.currentKey] = newValue }
    }

    /// The catalog, read once per session (reading it runs every lesson file).
    /// A catalog that cannot be read is reported under `command`'s name.
    func catalog(for command: String = "lesson") -> LessonCatalog? {
        if let c = ctx.userInfo[Self.catalogKey] as? LessonCatalog { return c }
        do {
            let c = try LessonCatalog.standard()
            ctx.userInfo[Self.catalogKey] = c
            return c
        } catch {
            ctx.complain(".\(command): \(error)")
            return nil
        }
    }

    /// `lesson` as this learner sees it: the variant of their seed (kept
    /// with their progress, or `KMLAB_VARIANT_SEED`), as `kmlab lesson` shows it.
    func learnerVariant(_ lesson: Lesson) throws -> Lesson {
        try lesson.variant(seed: LearnerSeed.current(store: ProgressStore.standard()))
    }

    // MARK: .lesson

    func lesson(_ args: String) {
        guard let catalog = catalog() else { return }
        let id = args.trimmingCharacters(in: .whitespaces)
        if id.isEmpty {
            list(catalog)
            return
        }
        let lesson: Lesson
        do {
            lesson = try learnerVariant(catalog.lesson(id: id))
        } catch LessonError.unknownLesson(let id, _, let suggestion) {
            // A number out of range: the catalog's closest id would be a guess.
            let numbers = catalog.lessons.compactMap(\.number)
            if Int(id) != nil, let first = numbers.min(), let last = numbers.max() {
                ctx.complain("no lesson \(id): the lessons are numbered \(first) to \(last) (.lesson lists them)")
            } else {
                ctx.complain("no lesson '\(id)'" + (suggestion.map { "; did you mean .lesson \($0)?" } ?? "") + " (.lesson lists them)")
            }
            return
        } catch {
            ctx.complain(".lesson: \(error)")
            return
        }
        let answers = ReplCurrentLesson.answersFileName(lesson)
        current = ReplCurrentLesson(lesson: lesson, answers: answers)
        let closing = [
            "Your answers go in \(answers) (current directory): edit it in",
            "your editor, `.load` it to try your functions here, `.check` grades it,",
            "`.step` shows the next exercise, `.hint` gives a hint when stuck.",
        ]
        Pager.show(LessonText.render(lesson, color: ReplStyle.detect().stdoutColor, closing: closing))
        let path = FileManager.default.currentDirectoryPath + "/" + answers
        switch LessonCLI.writeTemplate(for: lesson, to: answers) {
        case .written:
            ctx.say("Now on lesson \(lesson.id).\nYour answers file: \(path) (new, from the template).")
        case .exists:
            ctx.say("Now on lesson \(lesson.id).\nYour answers file: \(path) (already there, kept as it is).")
        case .failed:
            ctx.say("Now on lesson \(lesson.id).")
            ctx.complain(".lesson: cannot write \(path); `.check FILE` grades an answers file kept elsewhere")
        }
    }

    private func list(_ catalog: LessonCatalog) {
        var lines = LessonCLI.listing(catalog, progress: ProgressStore.standard().load(), current: current?.lesson.id)
        lines.append("")
        let now = current.map { "You are on \($0.lesson.id) (*). " } ?? ""
        lines.append(now + "Start or switch with `.lesson 1` (a number, id or slug).")
        ctx.say(lines.joined(separator: "\n"))
        let problems = LessonCLI.problemLines(catalog)
        if !problems.isEmpty { ctx.complain(problems.joined(separator: "\n")) }
    }

    // MARK: .step and .hint

    /// The current lesson, or a complaint naming `command`.
    private func requireCurrent(_ command: String) -> ReplCurrentLesson? {
        if let current { return current }
        ctx.complain(".\(command): no current lesson; start one with .lesson ID (.lesson lists them)")
        return nil
    }

    /// The first exercise the progress record has not seen pass, with its position.
    private func firstUnfinished(_ lesson: Lesson, _ progress: ProgressRecord) -> (index: Int, exercise: Exercise)? {
        let passed = Set(progress.lessons[lesson.id]?.passed ?? [])
        return lesson.exercises.enumerated().first { !passed.contains($0.element.id) }.map { ($0.offset, $0.element) }
    }

    private func allPass(_ lesson: Lesson, _ progress: ProgressRecord) -> String {
        let best = progress.lessons[lesson.id]?.bestScore ?? lesson.maxScore
        return "Every exercise of lesson \(lesson.id) has passed (best \(best)/\(lesson.maxScore)). `.lesson` lists the others."
    }

    func step() {
        guard let current = requireCurrent("step") else { return }
        let lesson = current.lesson
        let progress = ProgressStore.standard().load()
        guard let (index, exercise) = firstUnfinished(lesson, progress) else {
            ctx.say(allPass(lesson, progress))
            return
        }
        var lines = ["Lesson \(lesson.id), exercise \(index + 1) of \(lesson.exercises.count):"]
        lines += LessonText.exercise(exercise, color: ReplStyle.detect().stdoutColor)
        lines.append("")
        let what = exercise.expectedName.map { "define \($0)" } ?? "set answers.\(exercise.id)"
        lines.append("In \(current.answers): \(what); `.check` grades it, `.hint` gives a hint.")
        ctx.say(lines.joined(separator: "\n"))
    }

    /// The hint for the learner's current failure, chosen as `kmlab check
    /// --hint` chooses it: the answers file is graded, and the first
    /// exercise that does not pass gets the next hint for the feedback it
    /// got (a check's tagged hints, else the exercise's ordered ones).
    /// Without a readable answers file, the first exercise the progress has
    /// not seen pass gets its ordered hints.
    func hint() {
        guard let current = requireCurrent("hint") else { return }
        let lesson = current.lesson
        let store = ProgressStore.standard()
        let failure: ExerciseResult?
        let exercise: Exercise
        if case .success(let source) = ScriptFile.read(current.answers) {
            let result = Grader(lesson: lesson, caseSecret: Grader.configuredCaseSecret())
                .grade(source: source, submissionID: current.answers)
            guard let r = result.exercises.first(where: { $0.status != .pass }),
                  let e = lesson.exercises.first(where: { $0.id == r.id }) else {
                let progress = store.load()
                let done = progress.lessons[lesson.id]?.completed == true
                ctx.say(done ? allPass(lesson, progress) : "Every exercise in \(current.answers) passes: `.check` records it.")
                return
            }
            (failure, exercise) = (r, e)
        } else {
            let progress = store.load()
            guard let (_, e) = firstUnfinished(lesson, progress) else {
                ctx.say(allPass(lesson, progress))
                return
            }
            (failure, exercise) = (nil, e)
        }
        let tag = failure?.hint
        let hints = exercise.hints(for: tag)
        guard !hints.isEmpty else {
            ctx.say("\(exercise.id) has no hints; `.step` shows its prompt again.")
            return
        }
        let n = store.update { record -> Int? in
            if let failure { return LearnerCheck.takeHint(for: failure, of: exercise, lesson: lesson.id, in: &record) }
            return record.takeHint(lesson: lesson.id, exercise: exercise.id, available: hints.count)
        } ?? 1
        var lines = ["\(exercise.id):"]
        if let failure, !failure.feedback.isEmpty {
            lines += CheckReport.wrap(failure.feedback, width: 72).map { "  " + $0 }
        }
        lines += CheckReport.hintLines(exercise, number: n, indent: "  ", tag: tag)
        if n == hints.count && n > 1 { lines.append("  (that is the last hint for \(exercise.id))") }
        ctx.say(lines.joined(separator: "\n"))
    }

    // MARK: .check

    /// The report's closing advice in the REPL's words.
    static let hintAdvice = "Stuck? `.hint` shows the next hint; `.check --hint` shows one for every exercise that did not pass."

    /// The lesson an answers file is named after (`answers-ID.lua`, as `.lesson` creates them).
    private func lessonNamed(byAnswersFile file: String) -> ReplCurrentLesson? {
        let name = URL(fileURLWithPath: file).lastPathComponent
        guard name.hasPrefix("answers-"), name.hasSuffix(".lua"), name.count > 12,
              let written = try? catalog(for: "check")?.lesson(id: String(name.dropFirst(8).dropLast(4))),
              let lesson = try? learnerVariant(written) else { return nil }
        return ReplCurrentLesson(lesson: lesson, answers: file)
    }

    func check(_ args: String) {
        let words = args.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let hint = words.contains("--hint")
        let file = words.filter { $0 != "--hint" }.joined(separator: " ")
        // `.check answers-05-contexts-gfp.lua` is graded against lesson 5,
        // current lesson or not: the name says which (a learner back the
        // next day, or one switching between lessons).
        guard let current = lessonNamed(byAnswersFile: file) ?? self.current ?? requireCurrent("check") else { return }
        let answers = file.isEmpty ? current.answers : file
        switch CheckCommand.check(current.lesson, answers: answers, hint: hint) {
        case .failure(let problem):
            let remedy = file.isEmpty ? "; .lesson \(current.lesson.id) creates it from the template" : ""
            ctx.complain(".check: \(problem)\(remedy)")
        case .success(let (_, text)):
            ctx.say(text.replacingOccurrences(of: CheckReport.hintAdvice, with: ReplLessonFlow.hintAdvice))
        }
    }
}
