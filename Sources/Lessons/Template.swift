/// The starting answers file `kmlab lesson ID --template` writes: every
/// question as an `answers.ID = nil` line with its prompt as a comment, every
/// task as an empty function of the expected name. It loads and grades
/// (every exercise fails with "no answer"), so a learner can check early.
public enum AnswerTemplate {
    public static func text(for lesson: Lesson) -> String {
        var lines = [
            "-- Answers for lesson \(lesson.id): \(lesson.title)",
            "-- Check them with: kmlab check \(lesson.id) <this file>   (add --hint for a hint)",
            "",
            "answers = answers or {}",
        ]
        var written = Set<String>()
        for e in lesson.exercises {
            lines.append("")
            let header = "-- \(e.id) (\(e.points) point\(e.points == 1 ? "" : "s"))"
            lines.append(header)
            for p in e.prompt.split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(p.isEmpty ? "--" : "-- " + p)
            }
            switch e.kind {
            case .question(let spec):
                if case .choice(let options, _) = spec {
                    for (i, o) in options.enumerated() { lines.append("--   \(AnswerMatcher.letter(i))) \(o)") }
                }
                lines.append("answers\(luaKey(e.id).hasPrefix("[") ? "" : ".")\(luaKey(e.id)) = \(e.templateHint ?? "nil")")
            case .task(let name, _, _):
                if !written.insert(name).inserted {
                    lines.append("-- (checked with your \(name) above)")
                    continue
                }
                lines.append("function \(name)(\(e.templateHint ?? "..."))")
                lines.append("  -- your code here")
                lines.append("end")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `q1` stays `answers.q1`; an id that is not a Lua name is quoted.
    static func luaKey(_ id: String) -> String {
        let isName = id.first.map { $0.isLetter || $0 == "_" } == true && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return isName ? id : "[\(JSONText.string(id))]"
    }
}
