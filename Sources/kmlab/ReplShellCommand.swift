import ArgumentParser
import Foundation

/// `kmlab repl` (and `kmlab` with no arguments): the interactive prompt.
struct ReplShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "The interactive prompt (the default when kmlab is run without arguments).",
        discussion: """
        Type Lua with the kernel API: an expression prints its value, an unfinished
        statement continues on the next line, lines starting with '.' are REPL
        commands (.help lists them). help() lists the kernel API. Tab completes,
        Ctrl-C interrupts a running statement or clears the line, Ctrl-D exits.
        History is kept in $XDG_STATE_HOME/kmlab/history (default
        ~/.local/state/kmlab/history). When stdin is not a terminal, lines are read
        without prompts or editing, with the same meaning. Colours only on a
        terminal, never with NO_COLOR set.
        """
    )

    @Flag(help: "Run in the sandbox (no io, os, debug, package) as graded scripts do.")
    var sandbox = false

    @Flag(name: .customLong("no-history"), help: "Neither read nor write the history file.")
    var noHistory = false

    func run() throws {
        let interactive = isatty(0) != 0
        let history = noHistory ? nil : ReplHistory.defaultPath().map { ReplHistory(path: $0) }
        let session: ReplSession
        do {
            session = try ReplSession(profile: sandbox ? .sandbox : .trusted, interactive: interactive,
                                      history: history, style: ReplStyle.detect())
        } catch {
            Terminal.error("kmlab: \(error)")
            throw ExitCode(1)
        }
        session.run()
    }
}
