import LuaBridge

/// Judges a question's answer. Works on raw snapshots of the learner's
/// values (`LuaValue`), so no metamethod of the submission ever runs, and
/// compares them with values the lesson captured before learner code ran.
enum AnswerMatcher {
    static func isRight(_ answer: LuaValue, spec: AnswerSpec, accept: [LuaValue]) -> Bool {
        if same(answer, as: spec) { return true }
        return accept.contains { alt in sameValue(answer, alt, ignoreCase: true, spec: spec) }
    }

    /// The lesson's feedback for this wrong answer, if it foresaw it.
    static func feedback(for answer: LuaValue, spec: AnswerSpec, in list: [(answer: LuaValue, text: String)]) -> String? {
        list.first { sameValue(answer, $0.answer, ignoreCase: true, spec: spec) }?.text
    }

    static func same(_ answer: LuaValue, as spec: AnswerSpec) -> Bool {
        switch spec {
        case .exact(let value, let ignoreCase):
            return sameValue(answer, value, ignoreCase: ignoreCase, spec: spec)
        case .numeric(let value, let tolerance, let units):
            guard let n = number(answer, units: units) else { return false }
            return abs(n - value) <= tolerance
        case .choice(let options, let correct):
            return choiceSet(answer, options: options) == correct
        }
    }

    /// Whether `answer` means the same as `key`, judged the way `spec` judges.
    static func sameValue(_ answer: LuaValue, _ key: LuaValue, ignoreCase: Bool, spec: AnswerSpec) -> Bool {
        switch spec {
        case .numeric(_, _, let units):
            if let a = number(answer, units: units), let b = number(key, units: true) { return a == b }
        case .choice(let options, _):
            if let a = choiceSet(answer, options: options), let b = choiceSet(key, options: options) { return a == b }
            return false
        case .exact:
            break
        }
        switch (answer, key) {
        case (.string(let a), .string(let b)):
            let x = trimmed(String(decoding: a, as: UTF8.self)), y = trimmed(String(decoding: b, as: UTF8.self))
            return ignoreCase ? x.lowercased() == y.lowercased() : x == y
        case (.integer, _), (.number, _):
            guard let a = number(answer, units: false), let b = number(key, units: false) else { return false }
            if case .string = key { return false }
            return a == b
        case (.boolean(let a), .boolean(let b)):
            return a == b
        default:
            return false
        }
    }

    // MARK: Numbers

    /// A number from a Lua number, or (always) a plain numeric string such
    /// as "4194304" or "0x400000", or (with `units`) a size such as "4M",
    /// "4 MiB", "4096 KiB", "4MB", "8k" (binary multiples, as the kernel
    /// counts memory).
    static func number(_ v: LuaValue, units: Bool = true) -> Double? {
        switch v {
        case .integer(let i): return Double(i)
        case .number(let d): return d.isFinite ? d : nil
        case .string(let b):
            guard b.count <= 64 else { return nil }
            return parseNumber(String(decoding: b, as: UTF8.self), units: units)
        default: return nil
        }
    }

    static func parseNumber(_ text: String, units: Bool) -> Double? {
        var t = trimmed(text).lowercased().filter { $0 != "_" && $0 != "," }
        var multiplier = 1.0
        if units {
            for suffix in ["bytes", "byte", "b"] where t.hasSuffix(suffix) && t.count > suffix.count {
                t.removeLast(suffix.count)
                break
            }
            if t.hasSuffix("i") { t.removeLast() }
            t = trimmed(t)
            let scales: [(Character, Double)] = [("k", 1024), ("m", 1_048_576), ("g", 1_073_741_824), ("t", 1_099_511_627_776)]
            if let last = t.last, let scale = scales.first(where: { $0.0 == last }) {
                multiplier = scale.1
                t.removeLast()
                t = trimmed(t)
            }
        }
        guard !t.isEmpty else { return nil }
        if t.hasPrefix("0x"), let i = UInt64(t.dropFirst(2), radix: 16) { return Double(i) * multiplier }
        guard t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e") }),
              let d = Double(t), d.isFinite else { return nil }
        return d * multiplier
    }

    // MARK: Choices

    /// The set of option positions an answer names: a letter ("b"), several
    /// letters ("ac", "a, c"), a number (2), a list ({1, 3}) or an option's text.
    static func choiceSet(_ v: LuaValue, options: [String]) -> Set<Int>? {
        if let i = choiceIndex(v, options: options) { return [i] }
        switch v {
        case .string(let b):
            let letters = String(decoding: b, as: UTF8.self).lowercased().filter { $0.isLetter }
            guard !letters.isEmpty, letters.count <= options.count else { return nil }
            var set = Set<Int>()
            for ch in letters {
                guard let i = letterIndex(ch), i < options.count else { return nil }
                set.insert(i)
            }
            return set
        case .table(let entries):
            var set = Set<Int>()
            for e in entries.prefix(options.count) {
                guard let i = choiceIndex(e.value, options: options) else { return nil }
                set.insert(i)
            }
            return set.isEmpty ? nil : set
        default:
            return nil
        }
    }

    /// One option's position (0-based) from a letter, a 1-based number or its text.
    static func choiceIndex(_ v: LuaValue, options: [String]) -> Int? {
        switch v {
        case .integer(let i): return i >= 1 && i <= options.count ? Int(i) - 1 : nil
        case .number(let d): return Int(exactly: d).flatMap { $0 >= 1 && $0 <= options.count ? $0 - 1 : nil }
        case .string(let b):
            let s = trimmed(String(decoding: b, as: UTF8.self)).lowercased()
            let letter = s.hasSuffix(")") ? String(s.dropLast()) : s
            if letter.count == 1, let ch = letter.first, let i = letterIndex(ch), i < options.count { return i }
            return options.firstIndex { trimmed($0).lowercased() == s }
        default: return nil
        }
    }

    static func letterIndex(_ ch: Character) -> Int? {
        guard let a = ch.asciiValue, a >= 97, a <= 122 else { return nil }
        return Int(a - 97)
    }

    static func letter(_ i: Int) -> String { String(UnicodeScalar(UInt8(97 + max(0, min(i, 25))))) }

    static func trimmed(_ s: String) -> String {
        var t = Substring(s)
        while let f = t.first, f.isWhitespace { t.removeFirst() }
        while let l = t.last, l.isWhitespace { t.removeLast() }
        return String(t)
    }
}
