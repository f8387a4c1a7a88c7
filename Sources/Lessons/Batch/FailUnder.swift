/// `kmlab grade --fail-under SCORE`: the lowest acceptable score of a
/// submission, in points (`8`) or as a percentage of the lesson's points
/// (`80%`). Checked per submission, as a CI job grading one student's
/// repository wants: any submission below it fails the run.
public struct FailUnder: Equatable, Sendable, CustomStringConvertible {
    public enum Threshold: Equatable, Sendable {
        case points(Double)
        case percent(Double)
    }

    public var threshold: Threshold
    /// The exit status of a run with a submission below the threshold
    /// (0 graded, 1 internal failure, 2 usage error, 130 interrupted).
    public static let exitStatus: Int32 = 3

    /// `8`, `7.5`, `80%`, `80.5%`; nil for anything else (negative,
    /// over 100%, not a number).
    public init?(_ text: String) {
        let t = text.trimmingCharactersInSpaces()
        if t.hasSuffix("%") {
            guard let p = Self.number(String(t.dropLast())), p <= 100 else { return nil }
            threshold = .percent(p)
        } else {
            guard let p = Self.number(t) else { return nil }
            threshold = .points(p)
        }
    }

    /// A plain decimal number >= 0 (no exponent, no inf/nan, no sign).
    static func number(_ s: String) -> Double? {
        guard !s.isEmpty, s.count <= 20, s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              s.filter({ $0 == "." }).count <= 1, s != "." else { return nil }
        return Double(s)
    }

    /// True when the submission scored below the threshold.
    public func fails(_ r: SubmissionResult) -> Bool {
        switch threshold {
        case .points(let p): return Double(r.score) < p
        case .percent(let p): return Double(r.score) * 100 < p * Double(r.maxScore)
        }
    }

    public var description: String {
        switch threshold {
        case .points(let p): return "\(Self.plain(p)) points"
        case .percent(let p): return "\(Self.plain(p))%"
        }
    }

    static func plain(_ x: Double) -> String { x == x.rounded() ? "\(Int(x))" : "\(x)" }
}

extension String {
    func trimmingCharactersInSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
