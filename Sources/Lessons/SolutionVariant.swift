import Foundation
import LuaBridge

/// A reference solution answers the lesson as written (seed 0). A learner
/// sees their own variant (other sizes, other option order), so the
/// solution they are shown must answer *their* questions: each top-level
/// `answers.ID = ...` line of a question whose variant differs is rewritten
/// with that variant's expected answer. Task code is the same for every
/// variant (it computes its answers), so it is left as written.
public enum SolutionVariant {
    /// `solution` (which answers `written`, the lesson as written) with its
    /// question answers set for `variant` (the lesson as this learner sees
    /// it). A question whose answer is the same in both keeps its line as
    /// written (`0x0B484000` stays hexadecimal); other lines are kept byte
    /// for byte.
    public static func rewrite(_ solution: String, for variant: Lesson, writtenAs written: Lesson) -> String {
        var original: [String: String] = [:]
        for ex in written.exercises {
            guard case .question(let spec) = ex.kind, let literal = literal(for: spec) else { continue }
            original[ex.id] = literal
        }
        var answers: [String: String] = [:]
        for ex in variant.exercises {
            guard case .question(let spec) = ex.kind, let literal = literal(for: spec),
                  original[ex.id] != literal else { continue }
            answers[ex.id] = literal
        }
        guard !answers.isEmpty else { return solution }
        var lines = solution.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, line) in lines.enumerated() {
            guard let id = assignedAnswer(in: line), let literal = answers[id] else { continue }
            lines[i] = "answers.\(id) = \(literal)"
        }
        return lines.joined(separator: "\n")
    }

    /// The id of a line `answers.ID = ...` at the start of a line (the only
    /// shape the reference solutions use for questions).
    static func assignedAnswer(in line: String) -> String? {
        guard line.hasPrefix("answers.") else { return nil }
        let rest = line.dropFirst("answers.".count)
        let id = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !id.isEmpty, rest.dropFirst(id.count).drop(while: { $0 == " " }).hasPrefix("=") else { return nil }
        return String(id)
    }

    /// The Lua literal of a question's expected answer, as a learner would
    /// write it; nil when the answer has no single literal.
    static func literal(for spec: AnswerSpec) -> String? {
        switch spec {
        case .exact(let value, _):
            return luaLiteral(value)
        case .numeric(let value, _, _):
            if let i = Int64(exactly: value) { return String(i) }
            return value.isFinite ? String(value) : nil
        case .choice(_, let correct):
            guard !correct.isEmpty else { return nil }
            return "\"" + correct.sorted().map(AnswerMatcher.letter).joined() + "\""
        }
    }

    static func luaLiteral(_ value: LuaValue) -> String? {
        switch value {
        case .integer(let i): return String(i)
        case .number(let d): return d.isFinite ? String(d) : nil
        case .boolean(let b): return b ? "true" : "false"
        case .string(let bytes):
            var out = "\""
            for b in bytes {
                switch b {
                case UInt8(ascii: "\""): out += "\\\""
                case UInt8(ascii: "\\"): out += "\\\\"
                case 0x20..<0x7f: out.append(Character(Unicode.Scalar(b)))
                default: out += "\\" + String(format: "%03d", Int(b))
                }
            }
            return out + "\""
        default: return nil
        }
    }
}
