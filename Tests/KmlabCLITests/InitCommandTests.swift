import Foundation
import Testing

/// `kmlab init`: the LuaLS definitions parse, name every documented API name
/// with its parameters, and luacheck with the generated .luacheckrc accepts
/// the reference solutions and reports a misspelt kernel name.
@Suite struct InitCommandTests {
    static let luac = "/usr/bin/luac5.4"
    static let luacheck = "/usr/bin/luacheck"

    let dir: ScratchDirectory

    init() throws {
        dir = try ScratchDirectory()
        let r = try KmlabProcess.run(["init"], currentDirectory: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
    }

    var stubs: String { (try? String(contentsOf: dir.url.appendingPathComponent(".kmlab/kmlab-api.lua"), encoding: .utf8)) ?? "" }

    /// Runs a tool in the scratch directory; (status, stdout + stderr).
    func tool(_ path: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.currentDirectoryURL = dir.url
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Every name `kmlab doc` lists.
    func documentedNames() throws -> [String] {
        let index = try KmlabProcess.run(["doc"]).stdout
        return index.split(separator: "\n").filter { $0.hasPrefix("  ") }.flatMap { $0.split(separator: " ").map(String.init) }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: InitCommandTests.luac)))
    func theDefinitionsParse() throws {
        let (status, output) = try tool(InitCommandTests.luac, ["-p", ".kmlab/kmlab-api.lua"])
        #expect(status == 0, "\(output)")
        #expect(stubs.hasPrefix("---@meta"))
    }

    @Test func everyDocumentedNameHasAStub() throws {
        let names = try documentedNames()
        #expect(names.count > 100)
        for name in names {
            let lua = name.hasPrefix("dev:") ? "device:" + name.dropFirst(4) : name
            #expect(stubs.contains("\nfunction \(lua)(") || stubs.contains("\n\(name) = "), "\(name) has no stub")
        }
    }

    @Test func stubsCarryParametersReturnsAndTheGFPAlias() throws {
        let s = stubs
        #expect(s.contains("---@alias gfp_t integer"))
        #expect(s.contains("---@param size integer\n---@param flags gfp_t\n---@return integer?\nfunction kmalloc(size, flags) end"))
        #expect(s.contains("---@type gfp_t\nGFP_ATOMIC = "))
        #expect(s.contains("---@param n? integer\n"), "peek's n is optional")
        #expect(s.contains("---@return integer?\n---@return integer?\nfunction dma_alloc_coherent(dev, size, flags) end"))
        #expect(s.contains("---@param dev kmlab.device\n"))
        #expect(s.contains("---kmalloc(size, flags) -> address | nil\n"), "the doc comes with the stub")
        let luarc = try String(contentsOf: dir.url.appendingPathComponent(".luarc.json"), encoding: .utf8)
        let json = try JSONSerialization.jsonObject(with: Data(luarc.utf8)) as? [String: Any]
        #expect(json?["runtime.version"] as? String == "Lua 5.4")
        #expect(json?["workspace.library"] as? [String] == [".kmlab"])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: InitCommandTests.luacheck)))
    func luacheckAcceptsTheReferenceSolutionsAndCatchesAMisspeltName() throws {
        let solutions = KmlabProcess.packageRoot.appendingPathComponent("lessons/solutions")
        let files = try FileManager.default.contentsOfDirectory(atPath: solutions.path).filter { $0.hasSuffix(".lua") }.sorted()
        #expect(!files.isEmpty)
        for f in files {
            let (status, output) = try tool(InitCommandTests.luacheck, ["--no-color", solutions.appendingPathComponent(f).path])
            #expect(status == 0, "\(f): \(output)")
        }
        try dir.write("answers.lua", "function f()\n  local p = kmaloc(64, GFP_KERNEL)\n  kfree(p)\n  return user.malloc(8), current.pid\nend\n")
        let (status, output) = try tool(InitCommandTests.luacheck, ["--no-color", "answers.lua"])
        #expect(status != 0)
        #expect(output.contains("accessing undefined variable 'kmaloc'"))
        #expect(!output.contains("'kfree'") && !output.contains("'user'") && !output.contains("'current'"))
    }

    @Test func anEditedConfigIsKeptUnlessForced() throws {
        try dir.write(".luacheckrc", "-- mine\n")
        let again = try KmlabProcess.run(["init"], currentDirectory: dir.url)
        #expect(again.status == 0)
        #expect(again.stderr.contains("kept .luacheckrc"))
        #expect(try String(contentsOf: dir.url.appendingPathComponent(".luacheckrc"), encoding: .utf8) == "-- mine\n")
        let forced = try KmlabProcess.run(["init", "--force"], currentDirectory: dir.url)
        #expect(forced.status == 0)
        #expect(try String(contentsOf: dir.url.appendingPathComponent(".luacheckrc"), encoding: .utf8).contains("read_globals"))
        let bad = try KmlabProcess.run(["init", "/nonexistent/dir"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("/nonexistent/dir is not a directory"))
    }
}
