/// The learner's check, as `kmlab check` and the REPL's `.check` run it:
/// grade, record progress, pick the next hints, render the report.
public enum LearnerCheck {
    /// Grades `source` against `lesson`, records the result in `store`, and
    /// returns the result with its text (ending in `score: S/M`). With
    /// `hint`, the next hint of every exercise that did not pass is shown
    /// and counted as seen.
    public static func run(lesson: Lesson, source: [UInt8], submissionID: String, hint: Bool,
                           store: ProgressStore?, limits: GradingLimits = .default,
                           caseSecret: UInt64 = Grader.configuredCaseSecret()) -> (result: SubmissionResult, text: String) {
        // `lesson` is already the learner's variant (`Lesson.variant(seed:)`):
        // the grader grades with the seed it carries.
        let result = Grader(lesson: lesson, limits: limits, caseSecret: caseSecret).grade(source: source, submissionID: submissionID)
        guard result.status != .graderError else {
            return (result, CheckReport.render(result, lesson: lesson))
        }
        var hints: [String: Int] = [:]
        let record: (inout ProgressRecord) -> Void = { record in
            record.record(result, lesson: lesson.id)
            guard hint else { return }
            for r in result.exercises where r.status != .pass {
                guard let e = lesson.exercises.first(where: { $0.id == r.id }) else { continue }
                hints[r.id] = takeHint(for: r, of: e, lesson: lesson.id, in: &record)
            }
        }
        if let store {
            store.update(record)
        } else {
            var scratch = ProgressRecord()
            record(&scratch)
        }
        return (result, CheckReport.render(result, lesson: lesson, hints: hints))
    }

    /// The next hint (1-based) for exercise `e`'s failure `r`, counted as
    /// shown in `record`; nil when it has none. A failure the check named
    /// (`fail("why", {hint = "tag"})`) has hints of its own, counted apart
    /// (`id#tag`): the next hint follows the current failure, not a counter
    /// of the exercise. `kmlab check --hint` and the REPL's `.hint` both
    /// choose here.
    public static func takeHint(for r: ExerciseResult, of e: Exercise, lesson: String, in record: inout ProgressRecord) -> Int? {
        let tagged = r.hint.flatMap { e.taggedHints[$0] } != nil
        let key = tagged ? "\(r.id)#\(r.hint ?? "")" : r.id
        return record.takeHint(lesson: lesson, exercise: key, available: e.hints(for: r.hint).count)
    }
}
