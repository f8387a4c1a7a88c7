import Foundation
import KernelLua
import LuaBridge

/// A REPL command: a line starting with `.` (`.boot arch="x86_64"`,
/// `.dmesg`). `run` gets the session and the text after the name.
struct ReplCommand {
    var name: String
    /// How it is called, for `.help`: `.load FILE`.
    var usage: String
    var summary: String
    var run: (ReplContext, String) -> ReplCommandOutcome

    init(name: String, usage: String? = nil, summary: String, run: @escaping (ReplContext, String) -> ReplCommandOutcome) {
        self.name = name
        self.usage = usage ?? "." + name
        self.summary = summary
        self.run = run
    }
}

enum ReplCommandOutcome {
    case `continue`
    case quit
}

/// What a command can do with the running REPL.
protocol ReplContext: AnyObject {
    var kernel: KernelEnvironment { get }
    var lua: LuaState { get }
    /// Prints to stdout (a newline is added if missing).
    func say(_ text: String)
    /// Prints an error (red on a terminal) to stderr.
    func complain(_ text: String)
    /// Prints a remark about the session (dim on a terminal) to stderr, so
    /// that stdout holds only what the Lua code printed and returned.
    func note(_ text: String)
    /// Runs Lua source as if typed (results printed, errors shown); returns success.
    @discardableResult
    func evaluate(_ source: String, chunkName: String) -> Bool
    /// State a command set keeps between calls (the current lesson, ...), by key.
    var userInfo: [String: Any] { get set }
}

/// Hook points for commands defined outside these files. The lessons code
/// adds its commands without editing the REPL by a conformance in its own
/// file:
///
///     extension ReplPlugins.Lessons: ReplCommandProvider {
///         static var replCommands: [ReplCommand] { [ReplCommand(name: "lesson", ...), ...] }
///     }
///
/// Commands provided there replace the built-in placeholders of the same
/// name (`.lesson`, `.step`, `.check`, `.hint`). `ReplPlugins.Extra` is a
/// second, free hook point.
enum ReplPlugins {
    enum Lessons {}
    enum Extra {}

    static var providers: [ReplCommandProvider.Type] {
        [(Lessons.self as Any) as? ReplCommandProvider.Type, (Extra.self as Any) as? ReplCommandProvider.Type]
            .compactMap { $0 }
    }
}

protocol ReplCommandProvider {
    static var replCommands: [ReplCommand] { get }
}

/// The command table: built-ins, then plugins (which win on a name clash).
enum ReplCommands {
    static func all() -> [ReplCommand] {
        var table: [String: ReplCommand] = [:]
        var order: [String] = []
        for c in builtIn + ReplPlugins.providers.flatMap({ $0.replCommands }) {
            if table[c.name] == nil { order.append(c.name) }
            table[c.name] = c
        }
        return order.compactMap { table[$0] }
    }

    static let builtIn: [ReplCommand] = [
        ReplCommand(name: "help", usage: ".help [NAME]", summary: "this list; with a name, the API doc (as help \"NAME\")") { ctx, args in
            let name = args.trimmingCharacters(in: .whitespaces)
            if !name.isEmpty {
                if let text = ctx.kernel.helpText(for: name) { ctx.say(text) } else { ctx.complain(ctx.kernel.unknownNameMessage(name)) }
                return .continue
            }
            var lines = ["REPL commands:"]
            let commands = ReplCommands.all()
            let width = (commands.map { $0.usage.count }.max() ?? 10) + 2
            for c in commands { lines.append("  " + c.usage.padding(toLength: width, withPad: " ", startingAt: 0) + c.summary) }
            lines += ["", "Type Lua: an expression prints its value (kmalloc(64, GFP_KERNEL)); an unfinished",
                      "statement continues on the next line. help() lists the kernel API, help(kmalloc) one name.",
                      "Tab completes names, fields (user.), GFP flags and /proc paths in cat(\". Ctrl-C interrupts,",
                      "Ctrl-D exits.",
                      "Lessons: .lesson lists them; .lesson 1 starts the first and writes your answers file."]
            ctx.say(lines.joined(separator: "\n"))
            return .continue
        },
        ReplCommand(name: "boot", usage: ".boot [OPTIONS]", summary: "a fresh machine: .boot arch=\"x86_64\", ram=\"8G\" runs boot{...}") { ctx, args in
            if ctx.evaluate("boot{" + args + "}", chunkName: "=.boot") {
                ctx.note("booted a fresh machine: " + ReplMachineSummary.describe(ctx.kernel.machine.config)
                        + "; your globals are kept, old addresses are gone.")
            }
            return .continue
        },
        ReplCommand(name: "stats", summary: "the machine's counters (stats())") { ctx, _ in
            ctx.evaluate("return stats()", chunkName: "=.stats")
            return .continue
        },
        ReplCommand(name: "dmesg", usage: ".dmesg [all]", summary: "kernel log lines since the last .dmesg (all: the whole log)") { ctx, args in
            let log = ctx.kernel.machine.log
            let lines: [String]
            if args.trimmingCharacters(in: .whitespaces) == "all" {
                _ = log.takeNewLines()
                lines = log.lines
            } else {
                lines = log.takeNewLines()
            }
            ctx.say(lines.isEmpty ? "(no new kernel messages)" : lines.joined(separator: "\n"))
            return .continue
        },
        ReplCommand(name: "load", usage: ".load FILE", summary: "run a Lua file here (its globals stay defined)") { ctx, args in
            let path = args.trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { ctx.complain(".load: which file? (.load FILE)"); return .continue }
            switch ScriptFile.read(path) {
            case .failure(let problem): ctx.complain(".load: \(problem)")
            case .success(let bytes):
                let before = Set(ReplMachineSummary.globalNames(ctx))
                if ctx.evaluate(String(decoding: bytes, as: UTF8.self), chunkName: "@" + path) {
                    let added = ReplMachineSummary.globalNames(ctx).filter { !before.contains($0) }.sorted()
                    ctx.note("loaded \(path)" + (added.isEmpty ? " (no new globals)" : "; new globals: " + added.joined(separator: ", ")))
                }
            }
            return .continue
        },
        ReplCommand(name: "memmap", summary: "draw physical memory (memmap())") { ctx, _ in
            ctx.evaluate("memmap()", chunkName: "=.memmap")
            return .continue
        },
        ReplCommand(name: "lesson", usage: ".lesson ID", summary: "start a lesson") { ctx, _ in lessonsUnavailable(ctx) },
        ReplCommand(name: "step", summary: "show the current step of the lesson") { ctx, _ in lessonsUnavailable(ctx) },
        ReplCommand(name: "check", summary: "check your answer to the current exercise") { ctx, _ in lessonsUnavailable(ctx) },
        ReplCommand(name: "hint", summary: "a hint for the current exercise") { ctx, _ in lessonsUnavailable(ctx) },
        ReplCommand(name: "quit", summary: "leave (Ctrl-D does the same)") { _, _ in .quit },
        ReplCommand(name: "exit", summary: "leave") { _, _ in .quit },
    ]

    static func lessonsUnavailable(_ ctx: ReplContext) -> ReplCommandOutcome {
        ctx.complain("lessons are not available in this build (kmlab lessons lists them once they are)")
        return .continue
    }
}
