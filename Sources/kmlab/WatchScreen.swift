import Lessons

/// What `kmlab watch` shows after each check: the first exercise that does
/// not pass, with its feedback (and the hints asked for so far), or, once
/// everything passes, why the answers work and where to go next. Pure text,
/// so tests read it without a terminal.
struct WatchScreen {
    var lesson: Lesson
    var answers: String
    var result: SubmissionResult
    /// Hints shown so far in this watch, by exercise id (the number of the last one).
    var hints: [String: Int] = [:]
    /// `l`: every exercise with its verdict, under the focus.
    var showList = false
    var nextLesson: Lesson?
    var watching: String

    /// The first exercise that does not pass, with its position.
    var focus: (index: Int, result: ExerciseResult)? {
        result.exercises.enumerated().first { $0.element.status != .pass }.map { ($0.offset, $0.element) }
    }

    func render() -> String {
        var lines = ["kmlab watch: lesson \(lesson.id)",
                     lesson.title,
                     "\(answers): score \(result.score)/\(result.maxScore)", ""]
        if result.status == .graderError {
            lines.append("The lesson itself failed to run (not your answers):")
            lines += indent(result.exercises.first?.feedback ?? "", by: "  ")
        } else if let (index, r) = focus {
            lines += exerciseLines(index: index, result: r)
        } else {
            lines += passedLines()
        }
        if showList {
            lines.append("")
            lines.append("All exercises:")
            for r in result.exercises {
                lines.append("  \(r.status == .pass ? "ok  " : "--  ")\(r.id)  \(r.score)/\(r.maxScore)  \(r.status.rawValue)")
            }
        }
        lines.append("")
        lines.append("[h] hint  [r] re-run  [l] list  [q] quit")
        lines.append("Re-checks on every save of \(fileName) (\(watching)); never moves to the next lesson by itself.")
        return lines.joined(separator: "\n") + "\n"
    }

    private var fileName: String { answers.split(separator: "/").last.map(String.init) ?? answers }

    private func exerciseLines(index: Int, result r: ExerciseResult) -> [String] {
        let passed = result.exercises.filter { $0.status == .pass }.count
        var lines = ["exercise \(index + 1) of \(result.exercises.count) (\(passed) passed): \(r.id)  \(r.score)/\(r.maxScore)  \(r.status.rawValue)"]
        if let e = lesson.exercises.first(where: { $0.id == r.id }) {
            lines += LessonText.exercise(e, color: false).dropFirst().map { $0 }
        }
        if result.status == .error {
            lines.append("")
            lines.append("Your answers file did not run to the end:")
        }
        if !r.feedback.isEmpty {
            lines.append("")
            lines += indent(r.feedback, by: "  ")
        }
        if let report = r.report {
            lines.append("  kernel report:")
            let reportLines = report.split(separator: "\n", omittingEmptySubsequences: false)
            lines += reportLines.prefix(24).map { "  | " + $0 }
            if reportLines.count > 24 { lines.append("  | ... (\(reportLines.count - 24) more lines: kmlab check shows them all)") }
        }
        if let n = hints[r.id], let e = lesson.exercises.first(where: { $0.id == r.id }) {
            lines.append("")
            for k in 1...max(1, n) { lines += CheckReport.hintLines(e, number: k, indent: "  ") }
        }
        return lines
    }

    private func passedLines() -> [String] {
        var lines = ["All \(result.exercises.count) exercises pass (\(result.score)/\(result.maxScore)). Well done."]
        let explained = lesson.exercises.compactMap { e in e.explain.map { (e.id, $0) } }
        if !explained.isEmpty {
            lines.append("")
            lines.append("Why this works:")
            for (id, text) in explained {
                lines += indent(text, by: "    ", first: "  \(id): ")
            }
        }
        lines.append("")
        let number = lesson.number.map(String.init) ?? lesson.id
        lines.append("`kmlab solution \(number)` shows the reference solution to compare with yours.")
        if let next = nextLesson {
            let n = next.number.map(String.init) ?? next.id
            lines.append("Next: lesson \(next.id) (q quits this watch, then `kmlab watch \(n)`).")
        } else {
            lines.append("That was the last lesson: `kmlab lessons` shows your scores.")
        }
        return lines
    }

    private func indent(_ text: String, by prefix: String, first: String? = nil) -> [String] {
        CheckReport.wrap(text, width: 76 - prefix.count).enumerated().map { i, l in
            (i == 0 ? (first ?? prefix) : prefix) + l
        }
    }
}
