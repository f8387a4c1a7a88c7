import CReadline
import Foundation

/// Where the REPL's input lines come from.
///
/// On a terminal: GNU readline (editing, history, Tab completion), read
/// through readline's callback interface so that Ctrl-C at the prompt
/// clears the line without a longjmp (Modules/CReadline/shim.h). Anywhere
/// else (a pipe, a file, a test): plain lines from stdin, no prompt and no
/// echo, the same semantics otherwise.
///
/// The shim's shared state (the SIGINT flags, the line being read) is
/// defined weak there, so that there is one copy whichever Swift files the
/// calls end up in (release builds inline across files).
final class ReplLineReader {
    enum Input {
        case line(String)
        /// Ctrl-C at the prompt: the line was discarded.
        case interrupted
        /// Ctrl-D or end of input.
        case endOfInput
    }

    let interactive: Bool
    let history: ReplHistory?

    init(interactive: Bool, history: ReplHistory?, completer: ReplCompleter?) {
        self.interactive = interactive
        // Piped input is not typed: it does not go into the history.
        self.history = interactive ? history : nil
        kmlab_sigint_install()
        guard interactive else { return }
        kmlab_rl_set_name("kmlab")
        kmlab_rl_set_catch_signals(0)
        ReplLineReader.completer = completer
        kmlab_rl_set_completion(ReplLineReader.complete)
        // '.' and ':' are not word breaks (`user.ma`, `dev:dma`); '"' is, so
        // a path inside `cat("` is a word of its own.
        kmlab_rl_set_word_break_characters(ReplLineReader.wordBreaks)
        history?.load()
    }

    /// Reads one line; `prompt` is shown only on a terminal.
    func read(prompt: String) -> Input {
        fflush(stdout)
        guard interactive else {
            guard let line = readLine(strippingNewline: true) else { return .endOfInput }
            return .line(line)
        }
        var raw: UnsafeMutablePointer<CChar>?
        let status = kmlab_rl_read(prompt, &raw)
        switch Int(status) {
        case Int(KMLAB_RL_LINE):
            guard let raw else { return .endOfInput }
            defer { free(raw) }
            return .line(String(cString: raw))
        case Int(KMLAB_RL_INTERRUPTED):
            return .interrupted
        default:
            return .endOfInput
        }
    }

    /// Runs `body` with Ctrl-C routed to the Lua state's interrupt flag.
    func whileRunning<T>(interruptFlag: UnsafeMutablePointer<sig_atomic_t>, _ body: () -> T) -> T {
        _ = kmlab_sigint_take()
        kmlab_sigint_set_target(interruptFlag)
        defer {
            kmlab_sigint_set_target(nil)
            _ = kmlab_sigint_take()
        }
        return body()
    }

    // MARK: completion glue

    nonisolated(unsafe) static var completer: ReplCompleter?
    static let wordBreaks: UnsafeMutablePointer<CChar> = strdup(" \t\n\"'`@$><=;|&{(,+-*/%^#~[]}") ?? UnsafeMutablePointer<CChar>.allocate(capacity: 1)

    static let complete: kmlab_rl_completion_fn = { text, start, _ in
        kmlab_rl_disable_default_completion()
        // readline resets this before every completion: no space after a name.
        kmlab_rl_set_append_character(0)
        guard let text, let completer = ReplLineReader.completer else { return nil }
        let word = String(cString: text)
        let lineBytes = kmlab_rl_line_buffer().map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) } ?? []
        let before = String(decoding: lineBytes.prefix(max(0, Int(start))), as: UTF8.self)
        let matches = completer.completions(for: word, lineBefore: before)
        guard !matches.isEmpty else { return nil }
        let common = ReplCompleter.commonPrefix(matches)
        var cStrings = matches.map { strdup($0) }
        defer { for p in cStrings { free(p) } }
        return cStrings.withUnsafeMutableBufferPointer { buf -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? in
            buf.baseAddress.map { base in
                base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                    kmlab_rl_matches($0, Int32(buf.count), common)
                }
            } ?? nil
        }
    }
}

/// The history file: `$XDG_STATE_HOME/kmlab/history`, else
/// `~/.local/state/kmlab/history`; at most `limit` entries.
struct ReplHistory {
    let path: String
    let limit: Int32 = 1000

    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return state + "/kmlab/history"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.local/state/kmlab/history"
    }

    func load() {
        stifle_history(limit)
        _ = read_history(path)
    }

    /// Adds an entry (not blank, not a repeat of the previous one) and
    /// appends it to the file, which is kept to `limit` entries.
    func add(_ entry: String) {
        guard !entry.allSatisfy(\.isWhitespace) else { return }
        if history_length > 0, let last = history_get(history_base + history_length - 1), let line = last.pointee.line,
           String(cString: line) == entry { return }
        add_history(entry)
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            _ = write_history(path)
        } else {
            _ = append_history(1, path)
        }
        _ = history_truncate_file(path, limit)
    }
}
