// The build-tool plugin that compiles kmlab's Lua files into the Lessons
// module: lessons (lessons/NN-*.lua), their reference solutions
// (lessons/solutions/NN-*.lua), the examples (examples/*.lua) and the
// grading driver (Sources/Lessons/Driver/grading-driver.lua). The files
// stay Lua in the tree (editors, luacheck, diffs) and nothing generated is
// committed; a kmlab binary copied anywhere still has them.
import Foundation
import PackagePlugin

/// `NN-slug.lua`, as `LessonCatalog.isLessonFileName` reads lesson names (a
/// plugin cannot import the module it builds; LessonStructureTests compares
/// the files embedded with the ones the catalog reads).
func isLessonFileName(_ name: String) -> Bool {
    guard name.hasSuffix(".lua"), let dash = name.firstIndex(of: "-") else { return false }
    let number = name[..<dash]
    let slug = name[name.index(after: dash)...].dropLast(4)
    return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber } && !slug.isEmpty
}

@main
struct EmbedLuaFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let tool = try context.tool(named: "EmbedLuaFilesTool").url
        let root = context.package.directoryURL
        let out = context.pluginWorkDirectoryURL

        func luaFiles(in folder: String, numbered: Bool) -> [URL] {
            let dir = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names
                .filter { $0.hasSuffix(".lua") && (!numbered || isLessonFileName($0)) }
                .sorted()
                .map { dir.appendingPathComponent($0) }
        }

        func embed(_ files: [URL], as name: String, mode: String) -> Command {
            let output = out.appendingPathComponent("\(name).swift")
            return .buildCommand(
                displayName: "Embedding \(files.count) Lua file(s) as \(name)",
                executable: tool,
                arguments: [output.path, name, mode] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output])
        }

        return [
            embed(luaFiles(in: "lessons", numbered: true), as: "EmbeddedLessons", mode: "--files"),
            embed(luaFiles(in: "lessons/solutions", numbered: true), as: "EmbeddedSolutions", mode: "--files"),
            embed(luaFiles(in: "examples", numbered: false), as: "EmbeddedExamples", mode: "--files"),
            embed([root.appendingPathComponent("Sources/Lessons/Driver/grading-driver.lua")], as: "GradingDriverSource", mode: "--one"),
        ]
    }
}
