import Foundation
import Testing

/// A REPL in a real terminal: tmux runs `kmlab` in a detached session with
/// its own server socket; the tests type with send-keys and read the screen
/// with capture-pane, polling until the expected text appears (no fixed
/// sleeps), and kill the server at the end.
final class TmuxTerminal {
    let socket = "kmlab-test-\(UUID().uuidString.prefix(8))"
    let state: ScratchDirectory

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// `arguments` are kmlab's (none: the REPL); `directory` is where it
    /// runs; `before` and `after` are shell text run before kmlab starts and
    /// once it exits (to look at the terminal it left behind).
    init(state: ScratchDirectory? = nil, arguments: [String] = [], directory: URL? = nil,
         before: String? = nil, after: String? = nil) throws {
        self.state = try state ?? ScratchDirectory()
        try start(arguments: arguments, directory: directory, before: before, after: after)
    }

    func start(arguments: [String] = [], directory: URL? = nil, before: String? = nil, after: String? = nil) throws {
        var command = "env XDG_STATE_HOME=" + TmuxTerminal.shellQuote(state.url.path) + " TERM=xterm KMLAB_VARIANT_SEED=0 "
            + ([KmlabProcess.binary.path] + arguments).map(TmuxTerminal.shellQuote).joined(separator: " ")
        if let directory { command = "cd " + TmuxTerminal.shellQuote(directory.path) + " && " + command }
        if let before { command = before + "; " + command }
        if let after { command += "; " + after }
        // The server this starts inherits the client's stdout: no pipe here,
        // or reading it would wait for the server to exit.
        try tmux(["new-session", "-d", "-x", "120", "-y", "40", command], capture: false)
    }

    deinit { try? tmux(["kill-server"]) }

    /// Runs tmux through /bin/sh with posix_spawn + waitpid, output to a
    /// file: the server a `new-session` starts keeps the client's file
    /// descriptors, so pipes (and Foundation.Process's wait) can hang on it.
    @discardableResult
    func tmux(_ args: [String], capture: Bool = true) throws -> String {
        let outFile = state.url.appendingPathComponent("tmux-out-\(UUID().uuidString.prefix(6))").path
        defer { unlink(outFile) }
        let quoted = (["/usr/bin/tmux", "-L", socket, "-f", "/dev/null"] + args).map(TmuxTerminal.shellQuote).joined(separator: " ")
        let line = quoted + " </dev/null 2>/dev/null >" + (capture ? TmuxTerminal.shellQuote(outFile) : "/dev/null")
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(line), nil]
        defer { for a in argv { free(a) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return "" }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return capture ? ((try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "") : ""
    }

    static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Types text literally (no key names).
    func type(_ text: String) throws { try tmux(["send-keys", "-t", "0", "-l", text]) }
    /// Presses keys by name: "Enter", "Tab", "C-c", "C-d", "Up".
    func press(_ keys: String...) throws { try tmux(["send-keys", "-t", "0"] + keys) }

    var screen: String { (try? tmux(["capture-pane", "-p", "-t", "0"])) ?? "" }

    /// Waits until the screen satisfies `condition`; returns whether it did.
    @discardableResult
    func waitFor(timeout: Double = 15, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(screen) { return true }
            usleep(50_000)
        }
        return condition(screen)
    }

    /// Waits for a prompt at the start of the last non-empty line.
    @discardableResult
    func waitForPrompt(_ prompt: String = "> ", count: Int = 1) -> Bool {
        // capture-pane drops trailing blanks: an empty prompt line is ">".
        let bare = prompt.trimmingCharacters(in: .whitespaces)
        return waitFor { s in s.components(separatedBy: "\n").filter { $0 == bare || $0.hasPrefix(prompt) }.count >= count }
    }

    func lines() -> [String] { screen.components(separatedBy: "\n") }
}

@Suite(.serialized, .enabled(if: TmuxTerminal.available))
struct ReplTerminalTests {
    @Test func typingAnExpressionPrintsItsValue() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("40 + 2")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("> 40 + 2\n42\n") })
    }

    @Test func aMultiLineFunctionDefinitionWorks() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        for line in ["function sq(x)", "  return x * x", "end"] {
            try t.type(line)
            try t.press("Enter")
        }
        #expect(t.waitFor { $0.contains(">>   return x * x") })
        try t.type("sq(12)")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("\n144\n") })
    }

    @Test func tabCompletesNamesAndFlags() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("kmal")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> kmalloc") })
        try t.type("(32, GFP_A")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> kmalloc(32, GFP_ATOMIC") })
        try t.type(") ~= nil")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("> kmalloc(32, GFP_ATOMIC) ~= nil\ntrue") })
    }

    @Test func tabCompletesProcPathsAndFields() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("#proc(\"/proc/buddy")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("proc(\"/proc/buddyinfo") })
        try t.type("\") > 0")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("\ntrue") })
        try t.type("string.upp")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> string.upper") })
    }

    @Test func tabCompletesProcPathsNoGlobalShares() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        // No global is called zoneinfo: only the path completion gets there.
        try t.type("#cat(\"/proc/zon")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> #cat(\"/proc/zoneinfo") })
        try t.press("C-u")
        // (other debugfs files share /sys/kernel/debug/: type up to the name)
        try t.type("proc('/sys/kernel/debug/km")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> proc('/sys/kernel/debug/kmemleak") })
        try t.press("C-u")
        // From the bare quote: `/`, then the choices are listed.
        try t.type("cat(\"")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> cat(\"/") })
        try t.press("Tab")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("proc/buddyinfo") && $0.contains("proc/meminfo") })
    }

    @Test func thePromptShowsAnAtomicCPU() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("s = spin_lock_init(\"nic_lock\"); spin_lock(s)")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("\nkmlab[spin_lock held: &nic_lock]>") })
        try t.type("local_irq_disable()")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("kmlab[spin_lock held: &nic_lock, irqs off]>") })
        try t.type("local_irq_enable(); spin_unlock(s)")
        try t.press("Enter")
        #expect(t.waitFor { $0.components(separatedBy: "\n").last(where: { !$0.isEmpty }) == ">" })
    }

    @Test func tabCompletesMethodsWithoutRunningMetamethods() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("dev = setmetatable({}, {__index = {dma_write = print, dma_read = print}})")
        try t.press("Enter")
        try t.type("trap = setmetatable({}, {__index = function() ran_index = true end})")
        try t.press("Enter")
        #expect(t.waitForPrompt(count: 3))
        try t.type("dev:dma_w")
        try t.press("Tab")
        #expect(t.waitFor { $0.contains("> dev:dma_write") })
        try t.press("C-u")
        try t.type("trap.x")
        try t.press("Tab")
        try t.press("C-u")
        try t.type("ran_index == nil")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("> ran_index == nil\ntrue") })
    }

    @Test func ctrlCInterruptsARunningStatementAndTheNextLineWorks() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("n = 0 while true do n = n + 1 end")
        try t.press("Enter")
        // Wait until the loop has started (no new prompt yet), then interrupt.
        #expect(t.waitFor { $0.contains("while true do n = n + 1 end") })
        usleep(300_000)
        try t.press("C-c")
        #expect(t.waitFor { $0.contains("interrupted (Ctrl-C)") })
        try t.type("n > 0, kmalloc(16, GFP_KERNEL) ~= nil")
        try t.press("Enter")
        // (capture-pane shows the tab between the two results as spaces)
        #expect(t.waitFor { $0.range(of: "\ntrue\\s+true", options: .regularExpression) != nil })
    }

    @Test func ctrlCAtThePromptClearsTheLine() throws {
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        try t.type("this is not lua")
        // Let readline echo the text first: a ^C that overtakes unread input
        // would clear an empty line and leave the text for the next one.
        #expect(t.waitFor { $0.contains("> this is not lua") })
        try t.press("C-c")
        #expect(t.waitFor { $0.contains("this is not lua^C") })
        try t.type("7 * 6")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("> 7 * 6\n42") })
    }

    @Test func historySurvivesARestart() throws {
        let state = try ScratchDirectory()
        do {
            let first = try TmuxTerminal(state: state)
            #expect(first.waitForPrompt())
            try first.type("history_marker = 12345")
            try first.press("Enter")
            #expect(first.waitForPrompt(count: 2))
            try first.press("C-d")
            let file = state.url.appendingPathComponent("kmlab/history").path
            #expect(first.waitFor { _ in (try? String(contentsOfFile: file, encoding: .utf8))?.contains("history_marker = 12345") == true })
        }
        let second = try TmuxTerminal(state: state)
        #expect(second.waitForPrompt())
        try second.press("Up")
        #expect(second.waitFor { $0.contains("> history_marker = 12345") })
    }
}
