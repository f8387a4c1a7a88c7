/// The learner-facing text of a graded check (`kmlab check`, the REPL's
/// `.check`): one block per exercise with points, verdict, feedback, the
/// kernel report if one was raised and, on request, the next hint; the last
/// line is exactly `score: S/M`.
public enum CheckReport {
    /// `hints`: the hint number to show per exercise (from `ProgressRecord.takeHint`).
    public static func render(_ result: SubmissionResult, lesson: Lesson, hints: [String: Int] = [:]) -> String {
        var lines = ["lesson \(lesson.id): \(lesson.title)", ""]
        let width = max(8, lesson.exercises.map(\.id.count).max() ?? 8)
        for r in result.exercises {
            let pad = String(repeating: " ", count: max(0, width - r.id.count))
            let points = "\(r.score)/\(r.maxScore)"
            lines.append("  \(r.id)\(pad)  \(points)\(String(repeating: " ", count: max(0, 6 - points.count)))\(r.status.rawValue)")
            if !r.feedback.isEmpty {
                for l in wrap(r.feedback, width: 72) { lines.append("      " + l) }
            }
            if let report = r.report {
                lines.append("      kernel report:")
                for l in report.split(separator: "\n", omittingEmptySubsequences: false).prefix(40) {
                    lines.append("      | " + l)
                }
            }
            if let n = hints[r.id], let e = lesson.exercises.first(where: { $0.id == r.id }) {
                lines += hintLines(e, number: n, indent: "      ", tag: r.hint)
            }
            // "Why this works" only once it does: before, it gives the answer away.
            if r.status == .pass, let why = lesson.exercises.first(where: { $0.id == r.id })?.explain, !why.isEmpty {
                lines += wrap(why, width: 68).enumerated().map { i, l in (i == 0 ? "      why: " : "           ") + l }
            }
        }
        lines.append("")
        if result.status == .error {
            lines.append("Your answers file did not run to the end: fix the error above, then check again.")
        } else if result.score < result.maxScore && hints.isEmpty {
            lines.append(hintAdvice)
        } else if result.score == result.maxScore {
            lines.append("All exercises pass. Well done.")
            let number = lesson.number.map(String.init) ?? lesson.id
            lines.append("Compare with the reference solution: `kmlab solution \(number)`.")
        }
        lines.append("score: \(result.score)/\(result.maxScore)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The closing line of a report with failures and no hints shown; the
    /// REPL swaps it for its own commands' wording.
    public static let hintAdvice = "Stuck? `--hint` shows the next hint for each exercise that did not pass."

    /// Hint `number` (1-based) of `exercise` as `hint n/N: text`, wrapped,
    /// each line after `indent` (none when there is no such hint). Shared by
    /// the report and the REPL's `.hint`.
    /// `tag`: the failure's hint key, when the check named one.
    public static func hintLines(_ exercise: Exercise, number n: Int, indent: String, tag: String? = nil) -> [String] {
        let hints = exercise.hints(for: tag)
        guard n >= 1, n <= hints.count else { return [] }
        return wrap(hints[n - 1], width: 68).enumerated().map { i, l in
            i == 0 ? "\(indent)hint \(n)/\(hints.count): \(l)" : "\(indent)  \(l)"
        }
    }

    /// Greedy word wrap that keeps existing line breaks. A line indented by
    /// four spaces is code or a sample of kernel output (a /proc/buddyinfo
    /// row is wider than any terminal width we wrap to): it is kept whole.
    public static func wrap(_ text: String, width: Int) -> [String] {
        var out: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if paragraph.hasPrefix("    ") {
                out.append(String(paragraph))
                continue
            }
            var line = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                if !line.isEmpty && line.count + 1 + word.count > width {
                    out.append(line)
                    line = String(word)
                } else {
                    line += line.isEmpty ? String(word) : " " + word
                }
            }
            out.append(line)
        }
        return out
    }
}

/// A lesson's text for the terminal: the markdown-ish source with headings
/// and code set off (ANSI colour only when asked), then the exercises.
public enum LessonText {
    /// `closing`: the lines that say how to answer (default: the
    /// `kmlab lesson --template` / `kmlab check` commands; the REPL says
    /// `.check` instead).
    public static func render(_ lesson: Lesson, color: Bool, closing: [String]? = nil) -> String {
        let bold = color ? "\u{1B}[1m" : "", code = color ? "\u{1B}[36m" : "", reset = color ? "\u{1B}[0m" : ""
        var lines: [String] = []
        for line in lesson.text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                lines.append(bold + line.drop { $0 == "#" || $0 == " " } + reset)
            } else if line.hasPrefix("    ") {
                lines.append(code + line + reset)
            } else {
                lines.append(String(line))
            }
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        lines.append("")
        lines.append(bold + "Exercises (\(lesson.maxScore) points)" + reset)
        for e in lesson.exercises {
            lines.append("")
            lines += exercise(e, color: color)
        }
        lines.append("")
        lines += closing ?? [
            "Start an answers file with `kmlab lesson \(lesson.id) --template > answers.lua`,",
            "then `kmlab check \(lesson.id) answers.lua` (add --hint when stuck).",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// One exercise as the lesson text lists it: id, points and what to
    /// write, the prompt, the options of a choice. Shared with the REPL's `.step`.
    public static func exercise(_ e: Exercise, color: Bool) -> [String] {
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        let what = e.expectedName.map { "task: define \($0)" } ?? "question: set answers.\(e.id)"
        var lines = ["\(bold)\(e.id)\(reset) (\(e.points) point\(e.points == 1 ? "" : "s"), \(what))"]
        for l in CheckReport.wrap(e.prompt, width: 74) { lines.append("  " + l) }
        if case .question(.choice(let options, _)) = e.kind {
            for (i, o) in options.enumerated() { lines.append("    \(AnswerMatcher.letter(i))) \(o)") }
        }
        return lines
    }
}
