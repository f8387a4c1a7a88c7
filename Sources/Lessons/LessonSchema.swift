import KernelSim
import LuaBridge

/// The keys a lesson file may use, in one place, so that a misspelt key
/// (`contxt = "hardirq"`) is an error that names the closest known key
/// instead of a silently ignored field. A new key in the vocabulary is one
/// line here (and its meaning in LessonParser and lessons/README.md).
public enum LessonSchema {
    /// Keys of `lesson{...}`.
    static let lessonKeys: Set<String> = [
        "id", "title", "text", "exercises",
    ]

    /// Keys every exercise may have.
    static let exerciseKeys: Set<String> = [
        "id", "points", "prompt", "hints",
        "explain",      // "why this works", shown after a pass
    ]

    /// Keys of `question{...}`, besides `exerciseKeys`.
    static let questionKeys: Set<String> = exerciseKeys.union([
        "answer", "accept", "feedback", "template",
        "variant",      // per-learner values for this question: a function of an rng, or a table
    ])

    /// Keys of `task{...}`, besides `exerciseKeys`.
    static let taskKeys: Set<String> = exerciseKeys.union([
        "expects", "template", "boot", "context", "setup", "call", "check",
        "allow_reports", "max_instructions",
        "cases",        // many cases per task: a list, or a generator function
        "variant",      // as for a question; its value reaches setup, cases and check
    ])

    /// How many exercises a lesson has: enough to teach, few enough to finish.
    public static let exerciseCount = 3...6

    /// The report kinds `allow_reports` may name: the simulated kernel's own
    /// list (`KernelReport.Kind`), so that a kind the kernel never raises
    /// cannot be allowed by mistake.
    static var reportKinds: [String] { KernelReport.Kind.allCases.map(\.rawValue) }

    /// An error for each string key of `table` that is not in `known`
    /// (internal `__` keys aside), with the closest known key when there is
    /// a plausible one. Sorted, so the first error is the same every run.
    static func unknownKeys(in table: LuaValue, known: Set<String>, what: String) -> [String] {
        guard case .table(let entries) = table else { return [] }
        var out: [String] = []
        for entry in entries {
            guard let key = entry.key.text, !key.hasPrefix("__"), !known.contains(key) else { continue }
            var message = "\(what) has an unknown key '\(key)'"
            if let near = closest(to: key, in: known) { message += "; did you mean '\(near)'?" }
            else { message += " (known: \(known.sorted().joined(separator: ", ")))" }
            out.append(message)
        }
        return out.sorted()
    }

    /// The known name closest to `word` by edit distance, if it is close
    /// enough to be a typo: one edit for a short word, else two (a swapped
    /// pair, `titel`) or a third of the word.
    static func closest(to word: String, in known: Set<String>) -> String? {
        let limit = word.count <= 3 ? 1 : max(2, word.count / 3)
        let scored = known.sorted().map { ($0, editDistance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }
}
