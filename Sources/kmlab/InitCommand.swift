import ArgumentParser
import Foundation
import KernelLua
import LuaBridge
import SafeOutput

/// `kmlab init [DIR]`: editor support files in the learner's directory.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write editor support into a directory: LuaLS definitions, .luarc.json, .luacheckrc.",
        discussion: """
        .kmlab/kmlab-api.lua: one annotated stub per kernel API name (---@meta,
        ---@param, ---@return, GFP flags as the alias gfp_t), generated from the
        docs help() prints, so an editor with the Lua language server completes
        kmalloc( and shows its signature and doc; .luarc.json: Lua 5.4 with those
        definitions as a library; .luacheckrc: the kernel's names as globals for
        luacheck. The definitions are always rewritten (they follow this kmlab);
        an existing .luarc.json or .luacheckrc is kept unless --force.
        """
    )

    @Argument(help: "The directory (default: the current one).")
    var directory: String = "."

    @Flag(help: "Overwrite an existing .luarc.json and .luacheckrc.")
    var force = false

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            Terminal.error("kmlab init: \(directory) is not a directory")
            throw ExitCode(2)
        }
        let lua = try LuaState(profile: .sandbox, limits: .unlimited)
        let docs = KernelEnvironment(lua: lua).docs
        let base = URL(fileURLWithPath: directory)
        let files: [(path: String, text: String, keep: Bool)] = [
            (EditorDefinitions.definitionsFile, EditorDefinitions.luaLS(docs, version: Kmlab.version), false),
            (".luarc.json", EditorDefinitions.luarc, !force),
            (".luacheckrc", EditorDefinitions.luacheckrc(docs, version: Kmlab.version), !force),
        ]
        do {
            try FileManager.default.createDirectory(at: base.appendingPathComponent(EditorDefinitions.directory), withIntermediateDirectories: true)
        } catch {
            Terminal.error("kmlab init: cannot create \(EditorDefinitions.directory) in \(directory)")
            throw ExitCode(1)
        }
        for file in files {
            let url = base.appendingPathComponent(file.path)
            if file.keep, FileManager.default.fileExists(atPath: url.path) {
                Terminal.error("kept \(file.path) (it exists; --force rewrites it)")
                continue
            }
            do {
                // OutputFile: atomic for a regular file, never a rename over a device or link.
                try OutputFile.write(file.text, to: url.path)
            } catch {
                Terminal.error("kmlab init: \(error)")
                throw ExitCode(1)
            }
            Terminal.error("wrote \(file.path)")
        }
        Terminal.error("\(docs.count) API names. An editor with the Lua language server (LuaLS) now completes them; `luacheck answers-*.lua` checks your files.")
    }
}
