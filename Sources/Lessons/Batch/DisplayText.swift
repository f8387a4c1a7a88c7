/// Text meant for people (the text report, progress lines, messages on the
/// terminal) made of names and messages a submission controls: control
/// characters are shown as escapes, so a file name or a Lua error with a
/// newline cannot forge a row and one with an ANSI escape cannot drive the
/// terminal; and widths are counted in terminal columns, so a table with
/// `José`, `王小明` or combining accents stays aligned.
public enum DisplayText {
    /// Control characters (C0, DEL, C1) and the bidirectional overrides
    /// that can reorder what a terminal shows, as `\n`, `\t`, `\r`, `\xNN`
    /// or `\u{XXXX}`; everything else unchanged.
    public static func escape(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            guard needsEscape(u) else { out.unicodeScalars.append(u); continue }
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let hex = String(u.value, radix: 16)
                out += u.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{" + hex + "}"
            }
        }
        return out
    }

    /// Escapes every line of a multi-line text, keeping its line breaks.
    public static func escapeLines(_ s: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) }.joined(separator: "\n")
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || (v >= 0x7F && v < 0xA0) || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069)
    }

    /// Terminal columns: 0 for combining marks and zero-width characters,
    /// 2 for East Asian wide and fullwidth characters and emoji, else 1.
    public static func width(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of u: Unicode.Scalar) -> Int {
        let v = u.value
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v == 0x200B || (v >= 0x1160 && v <= 0x11FF) { return 0 }
        for r in wideRanges where r.contains(v) { return 2 }
        return u.properties.isEmojiPresentation ? 2 : 1
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks (Unicode's
    /// EastAsianWidth.txt, grouped by block).
    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF,
        0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// Pads with spaces to `columns` terminal columns.
    public static func pad(_ s: String, _ columns: Int) -> String {
        let w = width(s)
        return w >= columns ? s : s + String(repeating: " ", count: columns - w)
    }

    /// At most `columns` columns, keeping the end (`...` + the tail): the
    /// end of a path is the part that tells files apart.
    public static func clipLeft(_ s: String, _ columns: Int) -> String {
        guard width(s) > columns else { return s }
        var tail: [Character] = []
        var w = 3
        for c in s.reversed() {
            let cw = width(String(c))
            if w + cw > columns { break }
            tail.append(c)
            w += cw
        }
        return "..." + String(tail.reversed())
    }

    /// At most `columns` columns, keeping the start.
    public static func clip(_ s: String, _ columns: Int) -> String {
        guard width(s) > columns else { return s }
        var head = ""
        var w = 3
        for c in s {
            let cw = width(String(c))
            if w + cw > columns { break }
            head.append(c)
            w += cw
        }
        return head + "..."
    }
}
