/// Each REPL line is its own chunk (as in `lua5.4`), so a `local` typed at
/// the prompt is gone by the next line: a later line then reads a global of
/// the same name (nil, or an old value) and the learner sees an Oops with no
/// hint why. The REPL keeps Lua's semantics and says so in one line instead.
enum ReplLocalNote {
    /// The note for `source` when it starts with a top-level `local`
    /// statement, nil otherwise.
    static func note(for source: String) -> String? {
        guard let names = localNames(source) else { return nil }
        let list = names.joined(separator: ", ")
        return "note: local \(list) lives only for this line (each line is its own chunk); "
            + "drop `local` to keep \(names.count == 1 ? "it" : "them") for the next lines."
    }

    /// The names a leading `local` / `local function` declares (nil when the
    /// source does not start with one).
    static func localNames(_ source: String) -> [String]? {
        var rest = Substring(skipSpaceAndComments(Substring(source)))
        guard rest.hasPrefix("local"), let after = rest.dropFirst(5).first, after == " " || after == "\t" || after == "\n" else {
            return nil
        }
        rest = skipSpaceAndComments(rest.dropFirst(5))
        if rest.hasPrefix("function"), let c = rest.dropFirst(8).first, c == " " || c == "\t" {
            rest = skipSpaceAndComments(rest.dropFirst(8))
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return name.isEmpty ? nil : [String(name)]
        }
        // `local a, b <const> = ...`: the names before `=` (or the end).
        let declaration = rest.prefix { $0 != "=" && $0 != "\n" && $0 != ";" }
        let names = declaration.split(separator: ",").compactMap { part -> String? in
            let trimmed = part.drop { $0 == " " || $0 == "\t" }
            let name = trimmed.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return name.isEmpty ? nil : String(name)
        }
        return names.isEmpty ? nil : names
    }

    private static func skipSpaceAndComments(_ s: Substring) -> Substring {
        var s = s
        while true {
            s = s.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard s.hasPrefix("--") else { return s }
            // A long comment `--[[ ... ]]` or `--[==[ ... ]==]`, else to the end of the line.
            let body = s.dropFirst(2)
            if body.hasPrefix("["), let level = longBracketLevel(body) {
                let close = "]" + String(repeating: "=", count: level) + "]"
                guard let end = body.range(of: close) else { return Substring("") }
                s = body[end.upperBound...]
            } else {
                s = body.drop { $0 != "\n" }
            }
        }
    }

    /// `[[` → 0, `[==[` → 2, anything else nil.
    private static func longBracketLevel(_ s: Substring) -> Int? {
        let afterOpen = s.dropFirst()
        let level = afterOpen.prefix { $0 == "=" }.count
        return afterOpen.dropFirst(level).first == "[" ? level : nil
    }
}
