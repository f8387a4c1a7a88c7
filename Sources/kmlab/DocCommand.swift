import ArgumentParser
import Foundation
import KernelLua
import LuaBridge

/// `kmlab doc NAME`: the text `help("NAME")` prints in the REPL.
struct DocCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doc",
        abstract: "Print the documentation of a kernel API name (as help(NAME) in the REPL).",
        discussion: """
        Without a name, lists every documented name by topic. Exit status 2 for an
        unknown name, with the closest documented names. With --markdown, prints
        the whole reference as one Markdown page (docs/api.md is this output).
        """
    )

    @Argument(help: "An API name: kmalloc, GFP_ATOMIC, user.malloc, ...")
    var name: String?

    @Flag(help: "Print the whole API reference as Markdown (the source of docs/api.md).")
    var markdown = false

    func validate() throws {
        if markdown && name != nil { throw ValidationError("--markdown prints every name; give no NAME with it") }
    }

    func run() throws {
        let lua = try LuaState(profile: .sandbox, limits: .unlimited)
        let kernel = KernelEnvironment(lua: lua)
        if markdown {
            print(kernel.apiReferenceMarkdown(), terminator: "")
            return
        }
        guard let name else {
            print(kernel.helpIndex())
            return
        }
        guard let text = kernel.helpText(for: name) else {
            Terminal.error("kmlab doc: " + kernel.unknownNameMessage(name))
            throw ExitCode(2)
        }
        print(text)
    }
}
