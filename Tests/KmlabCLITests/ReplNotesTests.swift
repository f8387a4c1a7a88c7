import Foundation
import Testing

/// What the REPL says about itself, on stderr so that stdout stays what the
/// Lua code printed: the note on a top-level `local`, the confirmations of
/// `.boot` and `.load`, and `.check`'s advice in the REPL's own words.
@Suite struct ReplNotesTests {
    func repl(_ input: String, in directory: URL? = nil) throws -> KmlabProcess.Result {
        let state = try ScratchDirectory()
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = state.url.path
        env["KMLAB_LESSONS"] = nil
        return try KmlabProcess.run([], stdin: input, currentDirectory: directory, environment: env)
    }

    @Test(arguments: [
        ("local x = 5", "local x lives only for this line"),
        ("  local a, b = 1, 2", "local a, b lives only for this line"),
        ("-- set up\nlocal p <const> = 1", "local p lives only for this line"),
        ("--[[ a long\ncomment ]] local t = {}", "local t lives only for this line"),
        ("local function helper() return 1 end", "local helper lives only for this line"),
    ])
    func aTopLevelLocalGetsANote(line: String, note: String) throws {
        let r = try repl(line + "\n")
        #expect(r.stderr.contains("note: " + note))
        #expect(r.stderr.contains("drop `local`"))
        #expect(r.stdout == "")
    }

    @Test(arguments: ["x = 5", "localx = 1", "do local y = 1 end", "print('local z')", "function f() local q = 1 return q end"])
    func otherStatementsGetNoNote(line: String) throws {
        let r = try repl(line + "\n")
        #expect(!r.stderr.contains("note:"), "\(line): \(r.stderr)")
    }

    @Test func theNoteExplainsTheNilThatFollows() throws {
        let r = try repl("local n = 41\nn\n")
        #expect(r.stdout == "nil\n")
        #expect(r.stderr.contains("local n lives only for this line"))
    }

    @Test func bootConfirmsTheMachineItBooted() throws {
        let r = try repl(".boot arch=\"x86_64\", ram=\"2G\", seed=7\nPAGE_OFFSET\n.boot ram=\"64M\"\n")
        #expect(r.stdout == "0xffff888000000000\n")
        #expect(r.stderr.contains("booted a fresh machine: x86_64, 2 GiB of RAM, seed 7"))
        #expect(r.stderr.contains("booted a fresh machine: x86_32, 64 MiB of RAM, seed 0"))
    }

    @Test func aFailedBootConfirmsNothing() throws {
        let r = try repl(".boot ram=\"lots\"\n")
        #expect(!r.stderr.contains("booted a fresh machine"))
        #expect(r.stderr.contains("ram"))
    }

    @Test func loadNamesTheGlobalsItDefined() throws {
        let dir = try ScratchDirectory()
        let file = try dir.write("lib.lua", "function triple(x) return 3 * x end\nlimit = 10\nlocal hidden = 1\n")
        let empty = try dir.write("empty.lua", "-- nothing\n")
        let r = try repl("limit = 1\n.load \(file)\n.load \(empty)\ntriple(limit)\n")
        #expect(r.stdout == "30\n")
        #expect(r.stderr.contains("loaded \(file); new globals: triple\n"))
        #expect(r.stderr.contains("loaded \(empty) (no new globals)"))
    }

    @Test func checkAdvisesTheReplsHintCommand() throws {
        let dir = try ScratchDirectory()
        try dir.write("answers-01-first-allocations.lua", "answers = {q1 = 100}\n")
        let r = try repl(".check answers-01-first-allocations.lua\n", in: dir.url)
        #expect(r.stdout.contains("Stuck? `.hint` shows the next hint"))
        #expect(!r.stdout.contains("`--hint` shows"))
        #expect(r.stdout.hasSuffix("score: 0/12\n"))
    }
}
