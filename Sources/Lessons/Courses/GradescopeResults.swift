/// Gradescope's autograder `results.json` for one student's submission
/// (Gradescope grades one student at a time): a test per exercise, numbered
/// in lesson order and tagged question/task, with the verdict, the lesson's
/// feedback and the full kernel report as Markdown, so that a report renders
/// as code. Written in every case: with nothing gradable, score 0 and a
/// message saying why.
public struct GradescopeResults {
    /// Gradescope's `visibility` values.
    public static let visibilities = ["visible", "hidden", "after_due_date", "after_published"]

    public var lesson: Lesson
    public var toolVersion: String
    /// The graded submission, or nil when nothing was gradable.
    public var result: SubmissionResult?
    /// What the student should know about which file was graded.
    public var notes: [String]
    /// Whole seconds the grading took (Gradescope's `execution_time`).
    public var executionSeconds: Int
    /// When the student sees the results (`visibility`).
    public var visibility: String

    public init(lesson: Lesson, toolVersion: String, result: SubmissionResult?, notes: [String],
                executionSeconds: Int, visibility: String = "visible") {
        self.lesson = lesson
        self.toolVersion = toolVersion
        self.result = result
        self.notes = notes
        self.executionSeconds = executionSeconds
        self.visibility = visibility
    }

    public func render() -> String {
        let score = result?.score ?? 0
        var summary = ["**kmlab \(toolVersion), lesson \(lesson.id): \(lesson.title)**", ""]
        // The notes quote the student's file names: escaped, so they read as written.
        summary += notes.map { "- " + MarkdownText.escapeLine($0) }
        if !notes.isEmpty { summary.append("") }
        if let result {
            if result.status == .error {
                summary.append("Your answers file did not run to the end, so no exercise could pass; the first test says why. Check it locally with `kmlab check \(lesson.id) \(Self.basename(result.id))`.")
            } else if result.status == .graderError {
                summary.append("The grader itself failed (not your fault): tell your instructor.")
            }
            summary.append("Score: \(score)/\(lesson.maxScore)")
        } else {
            summary.append("Score: 0/\(lesson.maxScore) (nothing was graded)")
        }
        var fields = [
            "\"score\":\(score)",
            "\"execution_time\":\(executionSeconds)",
            "\"output\":\(JSONText.string(summary.joined(separator: "\n")))",
            "\"output_format\":\"md\"",
            "\"test_output_format\":\"md\"",
            "\"visibility\":\(JSONText.string(visibility))",
            // stdout has the instructor's debugging copy of the text report.
            "\"stdout_visibility\":\"hidden\"",
        ]
        var tests: [String] = []
        for (i, exercise) in lesson.exercises.enumerated() {
            let r = result?.exercises.first { $0.id == exercise.id }
            let tags = exercise.isTask ? "[\"task\"]" : "[\"question\"]"
            let passed = r?.status == .pass
            tests.append("{\"number\":\"\(i + 1)\",\"name\":\(JSONText.string(Self.name(exercise))),\"score\":\(r?.score ?? 0),\"max_score\":\(exercise.points),\"status\":\"\(passed ? "passed" : "failed")\",\"tags\":\(tags),\"output\":\(JSONText.string(Self.output(r))),\"output_format\":\"md\"}")
        }
        fields.append("\"tests\":[\n" + tests.joined(separator: ",\n") + "\n]")
        return "{" + fields.joined(separator: ",\n") + "}\n"
    }

    /// `q1: What does ksize() return ...` or `refill: define rx_refill`.
    static func name(_ e: Exercise) -> String {
        if let f = e.expectedName { return "\(e.id): define \(f)()" }
        let prompt = e.prompt.split(separator: "\n").first.map(String.init) ?? ""
        return prompt.isEmpty ? e.id : "\(e.id): " + (prompt.count > 70 ? String(prompt.prefix(70)) + "..." : prompt)
    }

    /// The verdict, the feedback and the kernel report (as a code block).
    static func output(_ r: ExerciseResult?) -> String {
        guard let r else { return "not graded" }
        var parts: [String] = []
        let head = "**\(r.status.rawValue)** (\(r.score)/\(r.maxScore))"
        parts.append(r.feedback.isEmpty ? head : head + ": " + MarkdownText.escapeLine(r.feedback))
        if let report = r.report {
            parts.append("Kernel report:\n\n" + MarkdownText.codeBlock(report))
        }
        return parts.joined(separator: "\n\n")
    }

    static func basename(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}

/// Putting untrusted text (feedback quoting a learner's answer, kernel
/// reports naming a learner's functions) into Markdown safely.
enum MarkdownText {
    /// A fenced code block whose fence is longer than any run of backticks
    /// in `text`, so the text cannot close it.
    static func codeBlock(_ text: String) -> String {
        var longest = 0, run = 0
        for c in text {
            if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 }
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return fence + "text\n" + text + (text.hasSuffix("\n") ? "" : "\n") + fence
    }

    /// Markdown's inline markup characters escaped, so feedback reads as written.
    static func escapeLine(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\`*_[]<>#|".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
