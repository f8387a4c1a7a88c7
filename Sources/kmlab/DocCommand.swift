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
        unknown name, with the closest documented names.
        """
    )

    @Argument(help: "An API name: kmalloc, GFP_ATOMIC, user.malloc, ...")
    var name: String?

    func run() throws {
        let lua = try LuaState(profile: .sandbox, limits: .unlimited)
        let kernel = KernelEnvironment(lua: lua)
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
