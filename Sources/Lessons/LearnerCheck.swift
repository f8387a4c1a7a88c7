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
            // A failure the check named has hints of its own, counted
            // apart: the next hint follows the current failure.
            for r in result.exercises where r.status != .pass {
                guard let e = lesson.exercises.first(where: { $0.id == r.id }) else { continue }
                let tagged = r.hint.flatMap { e.taggedHints[$0] } != nil
                let key = tagged ? "\(r.id)#\(r.hint ?? "")" : r.id
                hints[r.id] = record.takeHint(lesson: lesson.id, exercise: key, available: e.hints(for: r.hint).count)
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
}
