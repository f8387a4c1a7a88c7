import LuaBridge

/// A lesson as Swift sees it: what the catalog lists, what `kmlab lesson`
/// shows and what questions are graded against. Built from the table a
/// lesson file returns (see lessons/README.md); task setup and check
/// functions stay in Lua and are looked up by exercise position when graded.
public struct Lesson: Sendable {
    public var id: String
    public var title: String
    public var text: String
    public var exercises: [Exercise]
    /// The lesson file's source and chunk name, to load it again in each grading state.
    public var source: [UInt8]
    public var chunkName: String
    /// The learner seed this lesson was instantiated for: its question
    /// variants and option order (0: the lesson as written).
    public var variantSeed: UInt64 = 0

    public var maxScore: Int { exercises.reduce(0) { $0 + $1.points } }

    /// The lesson number from its id (`"03-contiguity"` → 3), if it has one.
    public var number: Int? { Int(id.prefix { $0.isNumber }) }

    /// The lesson as a learner with `seed` sees it (variants resolved,
    /// choice options in that learner's order).
    public func variant(seed: UInt64) throws -> Lesson {
        if seed == variantSeed { return self }
        // Already checked against the schema when first loaded.
        return try LessonCatalog.load(source: source, chunkName: chunkName, variantSeed: seed, exerciseCount: 0...Int.max)
    }
}

public struct Exercise: Sendable {
    public enum Kind: Sendable {
        case question(AnswerSpec)
        /// The learner defines the global function `expects`; the check calls it.
        case task(expects: String, context: String, allowedReports: ReportAllowance)
    }

    public var id: String
    public var points: Int
    public var prompt: String
    public var kind: Kind
    /// Ordered: `--hint` shows the next one.
    public var hints: [String]
    /// Other answers that count as right (questions).
    public var accept: [LuaValue]
    /// Feedback for common wrong answers (questions), in the lesson's order.
    public var feedback: [(answer: LuaValue, text: String)]
    /// The starting value written by `--template` for a question, if the lesson gives one.
    public var templateHint: String?
    /// A task's own, smaller instruction budget for the learner's call
    /// (`max_instructions`): where a wrong answer loops through kernel
    /// calls, each costing far more than a Lua instruction.
    public var maxInstructions: Int64?
    /// "Why this works" (`explain`): shown to the learner once the
    /// exercise has passed, never before (it gives the answer away).
    public var explain: String? = nil
    /// Hints for a particular failure, by the key a check names
    /// (`fail("why", { hint = "null-check" })`): `hints = { "...", ["null-check"] = "..." }`.
    public var taggedHints: [String: [String]] = [:]

    /// The hints for a failure: those the check named (`tag`), else the
    /// exercise's ordered hints.
    public func hints(for tag: String?) -> [String] {
        if let tag, let tagged = taggedHints[tag], !tagged.isEmpty { return tagged }
        return hints
    }

    public var isTask: Bool { if case .task = kind { return true } else { return false } }
    /// The global the learner's task function must have (nil for a question).
    public var expectedName: String? { if case .task(let name, _, _) = kind { return name } else { return nil } }
}

/// Which kernel reports a task's call may raise without the verdict becoming `bug`.
public enum ReportAllowance: Sendable, Equatable {
    case none
    case all
    case kinds(Set<String>)

    func allows(_ kind: String) -> Bool {
        switch self {
        case .none: return false
        case .all: return true
        case .kinds(let k): return k.contains(kind)
        }
    }
}

/// How a question's answer is judged.
public enum AnswerSpec: Sendable {
    /// The same Lua value (integers and floats compare by value; strings
    /// optionally ignoring case).
    case exact(LuaValue, ignoreCase: Bool)
    /// A number, within `tolerance`; with `units`, strings such as "4M",
    /// "4 MiB", "4096K", "0x400000" count too.
    case numeric(Double, tolerance: Double, units: Bool)
    /// One option (or a set of options) of a list, answered by letter
    /// ("b"), by number (2) or by the option's text.
    case choice(options: [String], correct: Set<Int>)
}
