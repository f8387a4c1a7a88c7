/// PrairieLearn's external-grader `results.json` (docs/externalGrading.md in
/// PrairieLearn): `gradable`, `score` from 0 to 1, `message`, `output` and
/// `tests` with `name`, `description`, `points`, `max_points`, `message`,
/// `output`. A submission that could not be loaded (a syntax error, an
/// error at its top level, an unreadable file) or that the grader could not
/// judge is `gradable: false` with `format_errors`: PrairieLearn then counts
/// no attempt against the student.
public enum PrairieLearnResults {
    /// `results`: the graded files (one, normally; several are summed, test
    /// names prefixed with the file); `notes`: why this file was chosen.
    public static func render(lesson: Lesson, toolVersion: String, results: [SubmissionResult], notes: [String] = []) -> String {
        let heading = "kmlab \(toolVersion), lesson \(lesson.id): \(lesson.title)"
        guard !results.isEmpty else {
            let errors = notes.isEmpty ? ["nothing to grade"] : notes
            return "{\"gradable\":false,\"score\":0,\"message\":\(JSONText.string(heading)),\"format_errors\":[\(errors.map(JSONText.string).joined(separator: ","))],\"tests\":[]}\n"
        }
        let ungradable = results.filter { $0.status != .graded }
        let score = results.reduce(0) { $0 + $1.score }
        let max = results.reduce(0) { $0 + $1.maxScore }
        let prefix = results.count > 1
        var tests: [String] = []
        for r in results {
            for e in r.exercises {
                let exercise = lesson.exercises.first { $0.id == e.id }
                let name = prefix ? "\(r.id): \(e.id)" : e.id
                let message = e.feedback.isEmpty ? e.status.rawValue : "\(e.status.rawValue): \(e.feedback)"
                tests.append("{\"name\":\(JSONText.string(name)),\"description\":\(JSONText.string(exercise?.prompt ?? "")),\"points\":\(e.score),\"max_points\":\(e.maxScore),\"message\":\(JSONText.string(message)),\"output\":\(JSONText.string(e.report ?? ""))}")
            }
        }
        let fraction = max > 0 ? Double(score) / Double(max) : 0
        var message = heading + ": \(score)/\(max)"
        if !notes.isEmpty { message += "\n" + notes.joined(separator: "\n") }
        var head = "\"gradable\":\(ungradable.isEmpty),\"score\":\(Self.number(ungradable.isEmpty ? fraction : 0)),\"message\":\(JSONText.string(message))"
        if !ungradable.isEmpty {
            let errors = ungradable.map { r in "\(r.id): " + (r.exercises.first?.feedback ?? r.status.rawValue) }
            head += ",\"format_errors\":[\(errors.map(JSONText.string).joined(separator: ","))]"
        }
        return "{" + head + ",\"tests\":[\n" + tests.joined(separator: ",\n") + "\n]}\n"
    }

    /// A score as JSON: at most 6 decimals, no exponent, the same bytes every run.
    static func number(_ d: Double) -> String {
        let scaled = (d * 1_000_000).rounded()
        let whole = Int(scaled) / 1_000_000, frac = Int(scaled) % 1_000_000
        if frac == 0 { return "\(whole)" }
        var digits = String(frac)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
