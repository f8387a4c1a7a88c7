import Foundation
import KernelLua
import KernelSim
import LuaBridge

/// The read-eval-print loop: lua.c's rules, with the kernel API.
///
/// - A line is first tried as `return <line>`, so an expression prints its
///   value(s); otherwise it is compiled as a statement.
/// - A statement the parser finds unfinished (its error ends in `<eof>`)
///   continues on the `>>` prompt until it compiles or fails otherwise.
/// - A line starting with `.` is a REPL command (ReplCommands).
/// - Ctrl-C at a prompt discards the line; during a statement it stops the
///   Lua code at its next instruction (LuaState.requestInterrupt through the
///   SIGINT flag) and the prompt comes back with the machine as it was left.
/// - Ctrl-D (or the end of piped input) exits.
final class ReplSession: ReplContext {
    let script: ScriptSession
    var kernel: KernelEnvironment { script.kernel }
    var lua: LuaState { script.lua }
    let style: ReplStyle
    let reader: ReplLineReader
    var userInfo: [String: Any] = [:]
    let commands: [ReplCommand]

    static let prompt = ReplPrompt.plain
    static let continuationPrompt = ReplPrompt.continuation

    init(profile: LuaProfile, interactive: Bool, history: ReplHistory?, style: ReplStyle) throws {
        // No instruction budget (Ctrl-C stops runaways, seen by a sampling
        // window every 10 ms of CPU time) so loops run at full speed (LuaLimits).
        let limits = LuaLimits(maxInstructions: 0, maxMemory: 1 << 30, samplingPeriodMicroseconds: 10_000)
        script = try ScriptSession(profile: profile, limits: limits)
        self.style = style
        commands = ReplCommands.all()
        let names = commands.map(\.name)
        let completer = ReplCompleter(kernel: script.kernel, commandNames: { names })
        reader = ReplLineReader(interactive: interactive, history: history, completer: interactive ? completer : nil)
        kernel.picturesInColor = style.stdoutColor
        highlightReports()
        kernel.onMachineReplaced { [weak self] _ in self?.highlightReports() }
    }

    /// Kernel reports go to stderr as they happen, the headline highlighted.
    private func highlightReports() {
        let style = self.style
        kernel.machine.log.reportObserver = { report, lines in
            let sgr = report.severity == .oops || report.headline.hasPrefix("BUG") || report.headline.contains("BUG:")
                ? ReplStyle.boldRed : ReplStyle.boldYellow
            var out = lines
            if let i = out.firstIndex(where: { $0.contains(report.headline) }) { out[i] = style.err(out[i], sgr) }
            Terminal.error(out.joined(separator: "\n"))
        }
    }

    var banner: String {
        let layout = kernel.machine.layout
        let ram = layout.totalPages >= 262144 ? "\(layout.totalPages >> 18) GiB" : "\(layout.totalPages >> 8) MiB"
        return "kmlab \(Kmlab.version) (\(LuaState.release)): a simulated Linux kernel, \(kernel.machine.config.arch.rawValue), \(ram) of RAM.\n"
            + "help() lists the kernel API, help(kmalloc) explains a name, .help lists REPL commands. Ctrl-D exits."
    }

    /// Runs until Ctrl-D, the end of input or `.quit`.
    func run() {
        if reader.interactive { say(style.out(banner, ReplStyle.dim)) }
        while true {
            switch reader.read(prompt: ReplPrompt.prompt(for: kernel.machine.contexts)) {
            case .endOfInput:
                if reader.interactive { say("") }
                return
            case .interrupted:
                continue
            case .line(let line):
                if handle(line) == .quit { return }
            }
        }
    }

    /// One input line (plus continuation lines it needs).
    func handle(_ line: String) -> ReplCommandOutcome {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return .continue }
        if trimmed.hasPrefix("."), let first = trimmed.dropFirst().first, first.isLetter {
            reader.history?.add(line)
            return runCommand(String(trimmed.dropFirst()))
        }
        // An expression: `return <line>` compiles.
        if lua.load(Array(("return " + line).utf8), chunkName: "=stdin") == nil {
            reader.history?.add(line)
            runLoaded()
            return .continue
        }
        var source = line
        while true {
            guard let failure = lua.load(Array(source.utf8), chunkName: "=stdin") else {
                reader.history?.add(source)
                let note = ReplLocalNote.note(for: source)
                runLoaded()
                if let note { self.note(note) }
                return .continue
            }
            guard failure.kind == .syntax, failure.message.hasSuffix("<eof>") else {
                reader.history?.add(source)
                complain(failure.message)
                return .continue
            }
            switch reader.read(prompt: ReplSession.continuationPrompt) {
            case .line(let more): source += "\n" + more
            case .interrupted: return .continue
            case .endOfInput:
                complain(failure.message)
                return .continue
            }
        }
    }

    func runCommand(_ text: String) -> ReplCommandOutcome {
        let name = String(text.prefix { !$0.isWhitespace })
        let args = String(text.dropFirst(name.count)).trimmingCharacters(in: .whitespaces)
        guard let command = commands.first(where: { $0.name == name }) else {
            let close = commands.map(\.name).filter { editDistanceSmall(name, $0) }
            complain("unknown command .\(name)" + (close.isEmpty ? "" : "; did you mean ." + close.joined(separator: ", .") + "?") + " (.help lists them)")
            return .continue
        }
        return command.run(self, args)
    }

    @discardableResult
    func evaluate(_ source: String, chunkName: String) -> Bool {
        if let failure = lua.load(Array(source.utf8), chunkName: chunkName) {
            complain(failure.message)
            return false
        }
        return runLoaded()
    }

    /// Calls the function `load` left on the stack, with Ctrl-C routed to
    /// the Lua state, and prints its results or its error.
    @discardableResult
    private func runLoaded() -> Bool {
        let base = lua.stackTop - 1
        defer { lua.setStackTop(base) }
        lua.resetBudgets()
        let failure = reader.whileRunning(interruptFlag: lua.interruptFlag) {
            lua.protectedCall(arguments: 0, results: LuaState.allResults)
        }
        fflush(stdout)
        if let failure {
            show(failure)
            return false
        }
        let top = lua.stackTop
        if top > base {
            say(ReplValueFormatter(machine: kernel.machine, style: style).render(lua, from: base + 1, to: top))
        }
        return true
    }

    private func show(_ failure: LuaFailure) {
        switch failure.kind {
        case .interrupted:
            if reader.interactive { say("") }
            complain("interrupted (Ctrl-C); the machine keeps its state")
        case .error where failure.payload is ReportText:
            complain("the task was killed by a kernel Oops (see the report above)")
        default:
            complain(failure.message)
        }
    }

    func say(_ text: String) {
        fflush(stdout)
        let line = text.hasSuffix("\n") ? text : text + "\n"
        Terminal.out(Array(line.utf8))
        fflush(stdout)
    }

    func complain(_ text: String) {
        Terminal.error(style.err(text, ReplStyle.red))
    }

    func note(_ text: String) {
        Terminal.error(style.err(text, ReplStyle.dim))
    }
}

/// Close enough to be a typo of a command name.
private func editDistanceSmall(_ a: String, _ b: String) -> Bool {
    if a.isEmpty { return false }
    if b.hasPrefix(a) { return true }
    let x = Array(a), y = Array(b)
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var current = [i] + [Int](repeating: 0, count: y.count)
        for j in 1...max(1, y.count) where j <= y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count] <= 1
}
