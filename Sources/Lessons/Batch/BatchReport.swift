/// The reports of a graded batch. Pure functions of the lesson and the
/// sorted results, so the same inputs give the same bytes whichever way
/// they were produced (one run, a resumed run, merged shards). Timings
/// appear only when asked for.
public struct BatchReport {
    public enum Format: String, CaseIterable, Sendable {
        case text, json, csv, junit, gradescope, prairielearn
    }

    /// The JSON report's schema name; bump on an incompatible change.
    public static let schema = "kmlab-grade/1"

    public var lesson: Lesson
    public var toolVersion: String
    /// Sorted by id.
    public var results: [SubmissionResult]
    /// Milliseconds per submission (same order), when `--timings` asked for them.
    public var timings: [Int]?

    /// The student each submission belongs to (same order): from
    /// `--id-from`, else the submission id.
    public var students: [String]
    /// How the CSV report is laid out.
    public var csvOptions = CSVOptions()
    /// Submissions that look copied (see `Fingerprint`).
    public var duplicates: [DuplicateGroup]

    public init(lesson: Lesson, toolVersion: String, records: [GradeRecord], timings: Bool) {
        self.lesson = lesson
        self.toolVersion = toolVersion
        let sorted = records.sorted { SubmissionFinder.byteOrder($0.result.id, $1.result.id) }
        results = sorted.map { Self.showingPartialCredit($0.result) }
        students = sorted.map { $0.student ?? $0.result.id }
        duplicates = DuplicateGroup.find(ids: sorted.map(\.result.id), sha256: sorted.map(\.sha256), fingerprints: sorted.map(\.fingerprint))
        self.timings = timings ? sorted.map(\.ms) : nil
    }

    /// A `fail` that earned some points reads `partial` in every report.
    static func showingPartialCredit(_ r: SubmissionResult) -> SubmissionResult {
        var r = r
        for i in r.exercises.indices where r.exercises[i].status == .fail && r.exercises[i].score > 0 && r.exercises[i].score < r.exercises[i].maxScore {
            r.exercises[i].status = .partial
        }
        return r
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .text: return BatchSummary.render(self)
        case .json: return json()
        case .csv: return csv()
        case .junit: return junit()
        case .gradescope: return gradescope()
        case .prairielearn: return PrairieLearnResults.render(lesson: lesson, toolVersion: toolVersion, results: results)
        }
    }

    // MARK: JSON

    /// `{"schema": "kmlab-grade/1", "kmlab": VERSION, "lesson": ID,
    /// "max_score": M, "submissions": [{"id", "score", "max_score", "status",
    /// "exercises": [{"id", "status", "score", "max_score", "feedback"}]}]}`,
    /// one submission per line; with --timings each submission also has
    /// `time_ms`, with --id-from a `student` first; an exercise with a
    /// kernel report has it in full as `report`. Then `"duplicates":
    /// [{"kind": "identical"|"near-identical", "submissions": [ids]}]`.
    func json() -> String {
        var s = "{\"schema\":\(JSONText.string(Self.schema)),\"kmlab\":\(JSONText.string(toolVersion)),\"lesson\":\(JSONText.string(lesson.id)),\"max_score\":\(lesson.maxScore),\"submissions\":["
        for (i, r) in results.enumerated() {
            s += i == 0 ? "\n" : ",\n"
            var one = r.json
            if students[i] != r.id {
                // The student from --id-from, first: `{"student": ..., "id": ...}`.
                one = "{\"student\":\(JSONText.string(students[i]))," + one.dropFirst()
            }
            if let timings {
                one.removeLast()
                one += ",\"time_ms\":\(timings[i])}"
            }
            s += one
        }
        s += "\n],\"duplicates\":["
        for (i, g) in duplicates.enumerated() {
            s += (i == 0 ? "\n" : ",\n") + "{\"kind\":\(JSONText.string(g.kind.rawValue)),\"submissions\":[" + g.ids.map(JSONText.string).joined(separator: ",") + "]}"
        }
        return s + (duplicates.isEmpty ? "]}\n" : "\n]}\n")
    }

    // MARK: JUnit XML

    /// A testsuite per submission, a testcase per exercise: `fail` is a
    /// `<failure>`, the other non-pass verdicts an `<error>`, with the
    /// verdict as `type` and the feedback as text.
    func junit() -> String {
        func counts(_ r: SubmissionResult) -> (failures: Int, errors: Int) {
            (r.exercises.filter { $0.status == .fail || $0.status == .partial }.count, r.exercises.filter { $0.status != .fail && $0.status != .partial && $0.status != .pass }.count)
        }
        let total = results.reduce(0) { $0 + $1.exercises.count }
        let failures = results.reduce(0) { $0 + counts($1).failures }
        let errors = results.reduce(0) { $0 + counts($1).errors }
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<testsuites name=\(Self.xmlAttribute("kmlab grade " + lesson.id)) tests=\"\(total)\" failures=\"\(failures)\" errors=\"\(errors)\">\n"
        for (i, r) in results.enumerated() {
            let c = counts(r)
            let time = timings.map { " time=\"\(Double($0[i]) / 1000)\"" } ?? ""
            s += "  <testsuite name=\(Self.xmlAttribute(r.id)) tests=\"\(r.exercises.count)\" failures=\"\(c.failures)\" errors=\"\(c.errors)\"\(time)>\n"
            s += "    <properties><property name=\"score\" value=\"\(r.score)\"/><property name=\"max_score\" value=\"\(r.maxScore)\"/><property name=\"status\" value=\(Self.xmlAttribute(r.status.rawValue))/></properties>\n"
            for e in r.exercises {
                let open = "    <testcase classname=\(Self.xmlAttribute(r.id)) name=\(Self.xmlAttribute(e.id))"
                if e.status == .pass {
                    s += open + "/>\n"
                } else {
                    let tag = e.status == .fail || e.status == .partial ? "failure" : "error"
                    let message = "\(e.status.rawValue) (\(e.score)/\(e.maxScore))"
                    s += open + ">\n      <\(tag) type=\(Self.xmlAttribute(e.status.rawValue)) message=\(Self.xmlAttribute(message))>\(Self.xmlText(Self.feedbackWithReport(e)))</\(tag)>\n    </testcase>\n"
                }
            }
            s += "  </testsuite>\n"
        }
        return s + "</testsuites>\n"
    }

    /// The feedback followed by the full kernel report, when the verdict
    /// carried one: a learner reading a Gradescope test or a CI job's JUnit
    /// failure needs the whole report (its Call Trace names their line),
    /// not just the headline in the feedback.
    static func feedbackWithReport(_ e: ExerciseResult) -> String {
        guard let report = e.report, !report.isEmpty else { return e.feedback }
        return e.feedback + "\n\nKernel report:\n" + report
    }

    /// Escapes markup and replaces characters XML 1.0 cannot carry at all.
    static func xmlText(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { out += "\u{FFFD}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    static func xmlAttribute(_ s: String) -> String {
        "\"" + xmlText(s).replacingOccurrences(of: "\n", with: "&#10;").replacingOccurrences(of: "\r", with: "&#13;").replacingOccurrences(of: "\t", with: "&#9;") + "\""
    }

    // MARK: Gradescope

    /// Gradescope's autograder `results.json`: total `score`, and a test
    /// per exercise with `name`, `score`, `max_score`, `status`
    /// (passed/failed) and `output` (the feedback). Gradescope grades one
    /// student at a time; when several files were graded, test names are
    /// prefixed with the file and the score is the sum.
    func gradescope() -> String {
        let prefix = results.count > 1
        var tests: [String] = []
        for r in results {
            for e in r.exercises {
                let name = prefix ? "\(r.id): \(e.id)" : e.id
                let output = e.status == .pass ? e.feedback : e.status.rawValue + ": " + Self.feedbackWithReport(e)
                tests.append("{\"name\":\(JSONText.string(name)),\"score\":\(e.score),\"max_score\":\(e.maxScore),\"status\":\"\(e.status == .pass ? "passed" : "failed")\",\"output\":\(JSONText.string(output))}")
            }
        }
        let score = results.reduce(0) { $0 + $1.score }
        let max = results.reduce(0) { $0 + $1.maxScore }
        let output = "kmlab \(toolVersion), lesson \(lesson.id): \(score)/\(max)"
        let time = timings.map { ",\"execution_time\":\(Double($0.reduce(0, +)) / 1000)" } ?? ""
        return "{\"score\":\(score)\(time),\"output\":\(JSONText.string(output)),\"tests\":[\n" + tests.joined(separator: ",\n") + "\n]}\n"
    }
}
