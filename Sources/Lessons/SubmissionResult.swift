/// The verdict on one exercise of one submission.
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case pass, fail, error, bug, timeout, memory
    case graderError = "grader-error"
    /// Shown by batch reports for a `fail` that earned some points
    /// (0 < score < max); graders themselves say `fail`.
    case partial
}

/// One exercise's result. JSON keys, in this order: id, status, score,
/// max_score, feedback (the `kmlab grade --format json` schema).
public struct ExerciseResult: Codable, Equatable, Sendable {
    public var id: String
    public var status: Verdict
    public var score: Int
    public var maxScore: Int
    /// What the learner should read: the lesson's feedback, the Lua error
    /// with its line, the kernel report's headline, the exceeded budget.
    public var feedback: String
    /// The full kernel report text when the verdict is `bug` (shown by
    /// `kmlab check`; in JSON as `report`, only when there is one).
    public var report: String?
    /// The key of the exercise's `hints` that fits this failure, when the
    /// check named one (`fail("why", { hint = "null-check" })`; not part of
    /// the JSON schema).
    public var hint: String?

    public init(id: String, status: Verdict, score: Int, maxScore: Int, feedback: String, report: String? = nil, hint: String? = nil) {
        self.id = id
        self.status = status
        self.score = score
        self.maxScore = maxScore
        self.feedback = feedback
        self.report = report
        self.hint = hint
    }

    enum CodingKeys: String, CodingKey {
        case id, status, score
        case maxScore = "max_score"
        case feedback, report
    }

    /// The result as one JSON object, keys in schema order; `report` (the
    /// full kernel report) only when there is one.
    public var json: String {
        let full = report.map { ",\"report\":\(JSONText.string($0))" } ?? ""
        return "{\"id\":\(JSONText.string(id)),\"status\":\(JSONText.string(status.rawValue)),\"score\":\(score),\"max_score\":\(maxScore),\"feedback\":\(JSONText.string(feedback))\(full)}"
    }
}

/// A whole submission's result.
public struct SubmissionResult: Codable, Equatable, Sendable {
    /// `graded`: the answers file ran and every exercise was judged;
    /// `error`: the answers file itself failed (syntax error, error or
    /// kernel Oops at top level, exceeded budget), so no exercise could pass;
    /// `grader-error`: the lesson or the grader failed;
    /// `unreadable`: the batch grader could not read the file (see the
    /// exercises' feedback), so nothing ran;
    /// `missing`: a student without a file to grade (`kmlab grade --pick`).
    public enum Status: String, Codable, Sendable {
        case graded, error
        case graderError = "grader-error"
        case unreadable
        case missing
    }

    public var id: String
    public var score: Int
    public var maxScore: Int
    public var status: Status
    public var exercises: [ExerciseResult]

    public init(id: String, status: Status, exercises: [ExerciseResult], maxScore: Int? = nil) {
        self.id = id
        self.status = status
        self.exercises = exercises
        self.score = exercises.reduce(0) { $0 + $1.score }
        self.maxScore = maxScore ?? exercises.reduce(0) { $0 + $1.maxScore }
    }

    enum CodingKeys: String, CodingKey {
        case id, score
        case maxScore = "max_score"
        case status, exercises
    }

    /// The result as one JSON object with the keys in schema order
    /// (Foundation's encoder does not promise an order). Deterministic.
    public var json: String {
        var s = "{\"id\":\(JSONText.string(id)),\"score\":\(score),\"max_score\":\(maxScore),\"status\":\(JSONText.string(status.rawValue)),\"exercises\":["
        for (i, e) in exercises.enumerated() {
            if i > 0 { s += "," }
            s += e.json
        }
        return s + "]}"
    }
}

/// JSON string escaping (RFC 8259), for hand-ordered output.
public enum JSONText {
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
