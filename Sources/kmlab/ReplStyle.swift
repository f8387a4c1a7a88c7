import Foundation

/// Colours for the REPL: only on a terminal, and never when NO_COLOR is
/// set (https://no-color.org: present and not empty).
struct ReplStyle {
    let stdoutColor: Bool
    let stderrColor: Bool

    static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> ReplStyle {
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        return ReplStyle(stdoutColor: !noColor && isatty(1) != 0, stderrColor: !noColor && isatty(2) != 0)
    }

    static let plain = ReplStyle(stdoutColor: false, stderrColor: false)

    func out(_ text: String, _ sgr: String) -> String { stdoutColor ? "\u{1B}[\(sgr)m\(text)\u{1B}[0m" : text }
    func err(_ text: String, _ sgr: String) -> String { stderrColor ? "\u{1B}[\(sgr)m\(text)\u{1B}[0m" : text }

    static let red = "31"
    static let boldRed = "1;31"
    static let yellow = "33"
    static let boldYellow = "1;33"
    static let dim = "2"
    static let cyan = "36"
}
