import Foundation

/// Single-key input for `kmlab watch`: the terminal without line buffering
/// and echo, restored however kmlab ends. Ctrl-C still raises SIGINT (ISIG
/// stays on); the handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT put the
/// terminal back, then let the signal kill kmlab as it would have.
enum RawTerminal {
    nonisolated(unsafe) private static var saved = termios()
    nonisolated(unsafe) private static var active: sig_atomic_t = 0
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Switches stdin to single keys; false when stdin is not a terminal.
    @discardableResult
    static func enter() -> Bool {
        guard isatty(0) != 0, tcgetattr(0, &saved) == 0 else { return false }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        // One byte at a time, as soon as it is typed.
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(0, TCSANOW, &raw) == 0 else { return false }
        active = 1
        for s in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                RawTerminal.restore()
                // Die of the signal, as without the handler.
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
            sigemptyset(&action.sa_mask)
            sigaction(s, &action, nil)
        }
        atexit { RawTerminal.restore() }
        return true
    }

    /// Puts the terminal back as it was (async-signal-safe: tcsetattr only).
    static func restore() {
        guard active != 0 else { return }
        active = 0
        tcsetattr(0, TCSANOW, &saved)
    }
}
