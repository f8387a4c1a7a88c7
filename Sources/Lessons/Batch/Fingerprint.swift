/// Near-identical submissions: the same code after dropping comments and
/// layout and renaming every name in order of first use (`local buf =
/// kmalloc(n)` and `local p = kmalloc(size)` read alike). Literals are
/// kept, so two files that answer differently never match. Files too
/// short to say anything (an empty file, a bare template, a few quiz
/// answers) have no fingerprint.
public enum Fingerprint {
    /// Fewer tokens than this: no fingerprint (short answers legitimately coincide).
    public static let minimumTokens = 40

    public static func of(_ source: [UInt8]) -> String? {
        let tokens = normalisedTokens(source)
        guard tokens.count >= minimumTokens else { return nil }
        return SHA256.hex(Array(tokens.joined(separator: " ").utf8))
    }

    static let keywords: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
                                        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]

    /// The token stream with names renamed `$1`, `$2`, ... in order of first use.
    static func normalisedTokens(_ s: [UInt8]) -> [String] {
        var out: [String] = []
        var names: [String: Int] = [:]
        var i = 0
        let n = s.count
        func at(_ k: Int) -> UInt8 { k < n ? s[k] : 0 }
        func isNameStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        /// `[[`, `[=[`, ...: the level, or nil.
        func longBracket(_ k: Int) -> Int? {
            guard at(k) == 91 else { return nil }
            var level = 0
            while at(k + 1 + level) == 61 { level += 1 }
            return at(k + 1 + level) == 91 ? level : nil
        }
        /// The index after the long bracket closing `level` from `k`.
        func skipLong(_ k: Int, _ level: Int) -> Int {
            var j = k
            while j < n {
                if s[j] == 93 {
                    var e = 0
                    while at(j + 1 + e) == 61 { e += 1 }
                    if e == level && at(j + 1 + e) == 93 { return j + 2 + e }
                }
                j += 1
            }
            return n
        }
        while i < n {
            let c = s[i]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 { i += 1; continue }
            if c == 45 && at(i + 1) == 45 {  // a comment
                if let level = longBracket(i + 2) { i = skipLong(i + 4 + level, level); continue }
                while i < n && s[i] != 10 { i += 1 }
                continue
            }
            if let level = longBracket(i) {  // a long string
                let end = skipLong(i + 2 + level, level)
                out.append("S" + String(decoding: s[i..<end], as: UTF8.self))
                i = end
                continue
            }
            if c == 34 || c == 39 {  // a quoted string
                var j = i + 1
                while j < n && s[j] != c && s[j] != 10 { j += s[j] == 92 ? 2 : 1 }
                let end = min(n, j + 1)
                out.append("S" + String(decoding: s[i..<end], as: UTF8.self))
                i = end
                continue
            }
            if isNameStart(c) {
                var j = i
                while j < n && (isNameStart(s[j]) || isDigit(s[j])) { j += 1 }
                let word = String(decoding: s[i..<j], as: UTF8.self)
                if keywords.contains(word) {
                    out.append(word)
                } else {
                    let k = names[word] ?? names.count + 1
                    names[word] = k
                    out.append("$\(k)")
                }
                i = j
                continue
            }
            if isDigit(c) || (c == 46 && isDigit(at(i + 1))) {  // a number, as written
                var j = i
                while j < n && (isNameStart(s[j]) || isDigit(s[j]) || s[j] == 46 || ((s[j] == 43 || s[j] == 45) && (s[j - 1] | 0x20 == 101 || s[j - 1] | 0x20 == 112))) { j += 1 }
                out.append("N" + String(decoding: s[i..<j], as: UTF8.self))
                i = j
                continue
            }
            // Operators: the longest of ... .. == ~= <= >= // :: << >>, else one byte.
            let two = i + 1 < n ? String(decoding: s[i...i + 1], as: UTF8.self) : ""
            if c == 46 && at(i + 1) == 46 && at(i + 2) == 46 { out.append("..."); i += 3 }
            else if ["..", "==", "~=", "<=", ">=", "//", "::", "<<", ">>"].contains(two) { out.append(two); i += 2 }
            else { out.append(String(decoding: [c], as: UTF8.self)); i += 1 }
        }
        return out
    }
}

/// Groups of submissions that look copied, for the text and JSON reports.
public struct DuplicateGroup: Equatable, Sendable {
    public enum Kind: String, Sendable { case identical, nearIdentical = "near-identical" }
    public var kind: Kind
    /// Sorted by id.
    public var ids: [String]

    /// Identical files (same SHA-256) and, among the rest, files with the
    /// same fingerprint; only files with a fingerprint (long enough to
    /// mean something) count. Deterministic: groups in order of their
    /// first id.
    public static func find(ids: [String], sha256: [String], fingerprints: [String?]) -> [DuplicateGroup] {
        var bySHA: [String: [Int]] = [:]
        var byPrint: [String: [Int]] = [:]
        for i in ids.indices {
            guard let f = fingerprints[i] else { continue }
            bySHA[sha256[i], default: []].append(i)
            byPrint[f, default: []].append(i)
        }
        var groups: [DuplicateGroup] = []
        for (_, members) in bySHA where members.count > 1 {
            groups.append(DuplicateGroup(kind: .identical, ids: members.map { ids[$0] }.sorted(by: SubmissionFinder.byteOrder)))
        }
        for (_, members) in byPrint {
            // Near-identical: the same fingerprint but more than one distinct content.
            let distinct = Set(members.map { sha256[$0] })
            guard distinct.count > 1 else { continue }
            groups.append(DuplicateGroup(kind: .nearIdentical, ids: members.map { ids[$0] }.sorted(by: SubmissionFinder.byteOrder)))
        }
        return groups.sorted { a, b in
            a.ids[0] != b.ids[0] ? SubmissionFinder.byteOrder(a.ids[0], b.ids[0]) : a.kind.rawValue < b.kind.rawValue
        }
    }
}
