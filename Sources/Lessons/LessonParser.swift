import LuaBridge

/// Turns the table a lesson file returned into a `Lesson`, with errors that
/// tell the author which field of which exercise is wrong.
enum LessonParser {
    static func parse(_ table: LuaValue, source: [UInt8], chunkName: String,
                      exerciseCount: ClosedRange<Int> = LessonSchema.exerciseCount) throws -> Lesson {
        let file = chunkName.hasPrefix("@") || chunkName.hasPrefix("=") ? String(chunkName.dropFirst()) : chunkName
        func fail(_ m: String) -> LessonError { .badLesson("\(file): \(m)") }
        if let first = LessonSchema.unknownKeys(in: table, known: LessonSchema.lessonKeys, what: "lesson{}").first {
            throw fail(first)
        }
        guard let id = table["id"]?.text, !id.isEmpty else { throw fail("lesson{} needs an id string") }
        guard let title = table["title"]?.text else { throw fail("lesson{} needs a title string") }
        if let t = table["text"], t.text == nil { throw fail("lesson{} text must be a string") }
        let text = table["text"]?.text ?? ""
        guard case .table(let entries)? = table["exercises"] else { throw fail("lesson{} needs an exercises list") }
        var exercises: [Exercise] = []
        for entry in entries {
            guard case .integer(let i) = entry.key else { continue }
            exercises.append(try exercise(entry.value, position: Int(i), fail: fail))
        }
        guard exerciseCount.contains(exercises.count) else {
            throw fail("a lesson has \(exerciseCount.lowerBound) to \(exerciseCount.upperBound) exercises; this one has \(exercises.count)")
        }
        var seen = Set<String>()
        for e in exercises where !seen.insert(e.id).inserted {
            throw fail("two exercises have the id '\(e.id)'")
        }
        return Lesson(id: id, title: title, text: text, exercises: exercises, source: source, chunkName: chunkName)
    }

    static func exercise(_ v: LuaValue, position: Int, fail: (String) -> LessonError) throws -> Exercise {
        let kind = v["__kind"]?.text
        guard kind == "question" || kind == "task" else {
            throw fail("exercise #\(position) must be question{...} or task{...}")
        }
        guard let id = v["id"]?.text, !id.isEmpty else { throw fail("exercise #\(position) needs an id string") }
        let where_ = "exercise '\(id)'"
        let known = kind == "question" ? LessonSchema.questionKeys : LessonSchema.taskKeys
        if let first = LessonSchema.unknownKeys(in: v, known: known, what: "\(kind ?? "exercise"){} '\(id)'").first {
            throw fail(first)
        }
        for key in ["prompt", "explain", "template"] {
            if let value = v[key], value != .nil, value.text == nil { throw fail("\(where_): \(key) must be a string") }
        }
        if let h = v["hints"], h != .nil {
            guard case .table = h else { throw fail("\(where_): hints must be a list of strings") }
        }
        guard let points = v["points"]?.integerValue, points > 0, points <= 1000 else {
            throw fail("\(where_) needs a positive integer points")
        }
        let prompt = v["prompt"]?.text ?? ""
        let hints = list(v["hints"]).compactMap(\.text)
        var tagged: [String: [String]] = [:]
        if case .table(let entries)? = v["hints"] {
            for entry in entries {
                guard let key = entry.key.text, case .string = entry.key else { continue }
                let texts = entry.value.text.map { [$0] } ?? list(entry.value).compactMap(\.text)
                if !texts.isEmpty { tagged[key] = texts }
            }
        }
        var feedback: [(LuaValue, String)] = []
        if case .table(let fb)? = v["feedback"] {
            for e in fb { if let t = e.value.text { feedback.append((e.key, t)) } }
        }
        let k: Exercise.Kind
        if kind == "question" {
            guard let answer = v["answer"] else { throw fail("\(where_) needs an answer") }
            k = .question(try answerSpec(answer, where_: where_, fail: fail))
        } else {
            guard let expects = v["expects"]?.text, !expects.isEmpty else {
                throw fail("\(where_) needs expects = \"function_name\"")
            }
            guard v["check"] == .function else { throw fail("\(where_) needs a check function") }
            let context = v["context"]?.text ?? "process"
            guard TaskContext(rawValue: context) != nil else {
                throw fail("\(where_): context \"\(context)\" is not supported (\(TaskContext.supported.joined(separator: ", ")))")
            }
            let allowed = try reportAllowance(v["allow_reports"], where_: where_, fail: fail)
            k = .task(expects: expects, context: context, allowedReports: allowed)
        }
        var budget: Int64?
        if let m = v["max_instructions"] {
            guard let n = m.integerValue, n > 0 else { throw fail("\(where_): max_instructions must be a positive integer") }
            budget = n
        }
        var exercise = Exercise(id: id, points: Int(points), prompt: prompt, kind: k, hints: hints,
                                accept: list(v["accept"]), feedback: feedback, templateHint: v["template"]?.text,
                                maxInstructions: budget)
        exercise.taggedHints = tagged
        exercise.explain = v["explain"]?.text
        return exercise
    }

    /// `allow_reports`: true, one kind, or a list of kinds, each one of the
    /// kernel's report kinds (`LessonSchema.reportKinds`).
    static func reportAllowance(_ v: LuaValue?, where_: String, fail: (String) -> LessonError) throws -> ReportAllowance {
        let names: [LuaValue]
        switch v {
        case nil, .nil?, .boolean(false)?: return .none
        case .boolean(true)?: return .all
        case .string?: names = [v ?? .nil]
        case .table?: names = list(v)
        default: throw fail("\(where_): allow_reports must be true, a report kind or a list of report kinds")
        }
        let kinds = LessonSchema.reportKinds
        var out = Set<String>()
        for name in names {
            guard let kind = name.text else { throw fail("\(where_): allow_reports must list report kinds as strings") }
            guard kinds.contains(kind) else {
                let near = LessonSchema.closest(to: kind, in: Set(kinds)).map { "did you mean '\($0)'? " } ?? ""
                throw fail("\(where_): allow_reports names '\(kind)', which is not a kernel report kind (\(near)known: \(kinds.joined(separator: ", ")))")
            }
            out.insert(kind)
        }
        return .kinds(out)
    }

    static func answerSpec(_ a: LuaValue, where_: String, fail: (String) -> LessonError) throws -> AnswerSpec {
        switch a["__answer"]?.text {
        case "exact":
            guard let value = a["value"], value != .nil else { throw fail("\(where_): exact(value) needs a value") }
            return .exact(value, ignoreCase: a["ignore_case"] == .boolean(true))
        case "numeric":
            guard let value = AnswerMatcher.number(a["value"] ?? .nil) else { throw fail("\(where_): numeric(value) needs a number") }
            return .numeric(value, tolerance: AnswerMatcher.number(a["tolerance"] ?? .nil) ?? 0, units: a["units"] == .boolean(true))
        case "choice":
            let options = list(a).compactMap(\.text)
            guard options.count >= 2 else { throw fail("\(where_): choice{} needs at least two options") }
            var correct = Set<Int>()
            for c in (list(a["correct"]).isEmpty ? [a["correct"] ?? .nil] : list(a["correct"])) {
                guard let i = AnswerMatcher.choiceIndex(c, options: options) else {
                    throw fail("\(where_): choice{} correct must name an option (a letter or a number)")
                }
                correct.insert(i)
            }
            return .choice(options: options, correct: correct)
        default:
            // A bare value means exact(value).
            if case .table = a { throw fail("\(where_): answer must be exact(...), numeric(...) or choice{...}") }
            return .exact(a, ignoreCase: false)
        }
    }

    /// The array part of a table snapshot (empty for anything else).
    static func list(_ v: LuaValue?) -> [LuaValue] {
        guard case .table(let entries)? = v else { return [] }
        var out: [LuaValue] = []
        for e in entries {
            guard case .integer(let i) = e.key, i == out.count + 1 else { break }
            out.append(e.value)
        }
        return out
    }
}

/// The contexts a task's function can be called in (see `GradingDriver`):
/// a plain call from the module's process context (`insmod`), from an
/// interrupt handler, from a tasklet, from a work item (kworker), with a
/// spinlock held (with interrupts off for `spinlock_irqsave`), or as a
/// syscall from a user program (integer arguments only).
///
/// The one list of them: the lesson parser accepts these names, the grading
/// driver's `CONTEXTS` table implements each one but `process` (a test
/// holds the two together), and the lesson docs list them.
public enum TaskContext: String, CaseIterable, Sendable {
    case process, hardirq, softirq, kworker, spinlock
    case spinlockIrqsave = "spinlock_irqsave"
    case syscall

    /// The names a lesson may give as `context`, in this order.
    static var supported: [String] { allCases.map(\.rawValue) }
}
