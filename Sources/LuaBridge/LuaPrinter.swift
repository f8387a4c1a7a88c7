/// Renders Lua values for people: the REPL's echo and test messages.
/// Tables print with nesting (`{1, 2, name = "x", sub = {…}}`), cycles and
/// excessive depth are marked, strings are quoted with escapes, and integers
/// can be shown in hex by a caller-supplied policy (addresses).
public struct LuaPrinter {
    /// Decides how an integer prints; the default is decimal.
    public var formatInteger: (Int64) -> String = { String($0) }
    /// Tables longer than this are cut with "…".
    public var maxEntries = 64

    public init() {}

    public func render(_ value: LuaValue) -> String {
        var out = ""
        render(value, into: &out, indent: 0)
        return out
    }

    private func render(_ value: LuaValue, into out: inout String, indent: Int) {
        switch value {
        case .nil: out += "nil"
        case .boolean(let b): out += b ? "true" : "false"
        case .integer(let i): out += formatInteger(i)
        case .number(let d): out += LuaPrinter.formatNumber(d)
        case .string(let b): out += LuaPrinter.quote(b)
        case .function: out += "function"
        case .thread: out += "thread"
        case .userdata(let d): out += d
        case .elided(let why): out += why == "cycle" ? "<cycle>" : "{…}"
        case .table(let entries):
            if entries.isEmpty { out += "{}"; return }
            var parts: [String] = []
            var next: Int64 = 1
            for e in entries.prefix(maxEntries) {
                var s = ""
                if case .integer(let k) = e.key, k == next {
                    next += 1
                } else if case .string(let b) = e.key, LuaPrinter.isIdentifier(b) {
                    s += String(decoding: b, as: UTF8.self) + " = "
                } else {
                    s += "["
                    render(e.key, into: &s, indent: indent + 1)
                    s += "] = "
                }
                render(e.value, into: &s, indent: indent + 1)
                parts.append(s)
            }
            if entries.count > maxEntries { parts.append("…") }
            let flat = "{" + parts.joined(separator: ", ") + "}"
            if flat.count <= 72 && !flat.contains("\n") {
                out += flat
            } else {
                let pad = String(repeating: "  ", count: indent + 1)
                out += "{\n" + parts.map { pad + $0 }.joined(separator: ",\n") + "\n"
                    + String(repeating: "  ", count: indent) + "}"
            }
        }
    }

    /// Lua's `%.14g` for floats, with ".0" kept for integral values.
    public static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return d.sign == .minus ? "-nan" : "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }

    public static func quote(_ bytes: [UInt8]) -> String {
        var s = "\""
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): s += "\\\""
            case UInt8(ascii: "\\"): s += "\\\\"
            case UInt8(ascii: "\n"): s += "\\n"
            case UInt8(ascii: "\t"): s += "\\t"
            case UInt8(ascii: "\r"): s += "\\r"
            case 0x20..<0x7f: s.unicodeScalars.append(Unicode.Scalar(b))
            default: s += "\\" + String(b)
            }
        }
        return s + "\""
    }

    static func isIdentifier(_ b: [UInt8]) -> Bool {
        guard let first = b.first, !(0x30...0x39).contains(first) else { return false }
        let keywords: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function",
                                     "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return",
                                     "then", "true", "until", "while"]
        if keywords.contains(String(decoding: b, as: UTF8.self)) { return false }
        return b.allSatisfy { $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
    }
}
