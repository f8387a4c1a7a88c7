import Testing
import CLua
@testable import LuaBridge

/// `compile` turns trusted text into bytecode that loads as a binary chunk
/// and keeps its debug info (errors still name chunk and line).
@Suite struct CompileTests {
    @Test func bytecodeLoadsAndRunsLikeTheText() throws {
        let lua = try LuaState(profile: .sandbox)
        let source = Array("local x = 6\nreturn x * 7\n".utf8)
        guard case .success(let bytes) = lua.compile(source, chunkName: "=lesson") else {
            Issue.record("did not compile"); return
        }
        #expect(bytes.starts(with: [0x1b, 0x4c, 0x75, 0x61]))  // "\eLua"
        #expect(lua.load(bytes, chunkName: "=lesson", mode: "b") == nil)
        #expect(lua.protectedCall(arguments: 0, results: 1) == nil)
        #expect(lua_tointegerx(lua.L, -1, nil) == 42)
    }

    @Test func errorsFromBytecodeStillNameTheLine() throws {
        let lua = try LuaState(profile: .sandbox)
        guard case .success(let bytes) = lua.compile(Array("local a = 1\nerror('boom')\n".utf8), chunkName: "@lesson.lua") else {
            Issue.record("did not compile"); return
        }
        #expect(lua.load(bytes, chunkName: "@lesson.lua", mode: "b") == nil)
        let failure = try #require(lua.protectedCall(arguments: 0, results: 0))
        #expect(failure.message.contains("lesson.lua:2: boom"))
    }

    @Test func aSyntaxErrorIsAFailureNotBytecode() throws {
        let lua = try LuaState(profile: .sandbox)
        guard case .failure(let f) = lua.compile(Array("return (".utf8), chunkName: "=bad") else {
            Issue.record("compiled"); return
        }
        #expect(f.kind == .syntax)
    }
}
