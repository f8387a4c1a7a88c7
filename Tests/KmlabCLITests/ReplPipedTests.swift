import Foundation
import Testing

/// The REPL with stdin from a pipe: no prompts, no echo, lua.c's line rules.
@Suite struct ReplPipedTests {
    /// Runs `kmlab` (the REPL is the default) with `input` on stdin, with a
    /// private history directory.
    func repl(_ input: String, arguments: [String] = [], environment extra: [String: String] = [:]) throws -> KmlabProcess.Result {
        let dir = try ScratchDirectory()
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = dir.url.path
        for (k, v) in extra { env[k] = v }
        return try KmlabProcess.run(arguments, stdin: input, environment: env)
    }

    @Test func anExpressionPrintsItsValues() throws {
        let r = try repl("1 + 1\n\"a\", 2.5, nil, true\n")
        #expect(r.status == 0)
        #expect(r.stdout == "2\n\"a\"\t2.5\tnil\ttrue\n")
        #expect(r.stderr == "")
    }

    @Test func pipedLinesDoNotGoIntoTheHistory() throws {
        let dir = try ScratchDirectory()
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = dir.url.path
        let r = try KmlabProcess.run([], stdin: "x = 1\n", environment: env)
        #expect(r.status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("kmlab/history").path))
    }

    @Test func kmlabReplIsTheSameAsNoArguments() throws {
        let r = try repl("6 * 7\n", arguments: ["repl"])
        #expect(r.stdout == "42\n")
    }

    @Test func aStatementPrintsNothingAndKeepsItsGlobals() throws {
        let r = try repl("x = 20\nx + 1\nprint('hi')\n")
        #expect(r.stdout == "21\nhi\n")
    }

    @Test func aMultiLineFunctionDefinitionContinues() throws {
        let r = try repl("function double(x)\n  local y = x * 2\n  return y\nend\ndouble(21)\n")
        #expect(r.stdout == "42\n")
        #expect(r.stderr == "")
    }

    @Test func anUnfinishedStatementAtEndOfInputIsReported() throws {
        let r = try repl("for i = 1, 3 do\n")
        #expect(r.stdout == "")
        #expect(r.stderr.contains("'end' expected near <eof>"))
        #expect(r.status == 0)
    }

    @Test func errorsNameTheLineAndTheSessionGoesOn() throws {
        let r = try repl("error('boom')\nkmalloc('x', GFP_KERNEL)\n1\n")
        #expect(r.stderr.contains("stdin:1: boom"))
        #expect(r.stderr.contains("kmalloc: size must be a non-negative integer, got string"))
        #expect(r.stdout == "1\n")
    }

    @Test func kernelAddressesPrintInHexAndPagesAsPages() throws {
        let r = try repl("kmalloc(64, GFP_KERNEL)\nalloc_page(GFP_KERNEL)\n4096\n1 << 20\nPAGE_OFFSET\n")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines.first?.range(of: "^0xc[0-9a-f]{7}$", options: .regularExpression) != nil)
        #expect(lines.count > 1 && lines[1].hasPrefix("page{pfn=0x") && lines[1].contains("zone=") && lines[1].contains("owner=pages"))
        #expect(lines.count > 2 && lines[2] == "4096")
        #expect(lines.count > 3 && lines[3] == "1048576  -- 0x100000")
        #expect(lines.count > 4 && lines[4] == "0xc0000000")
    }

    @Test func x86_64KernelAddressesAreHexToo() throws {
        let r = try repl(".boot arch=\"x86_64\", ram=\"2G\"\nPAGE_OFFSET\n")
        #expect(r.stdout == "0xffff888000000000\n")
    }

    @Test func tablesPrintNestedWithCyclesMarked() throws {
        let r = try repl("t = {1, 2, sub = {a = 'x'}} t.me = t return t\n")
        #expect(r.stdout == "{1, 2, me = <cycle>, sub = {a = \"x\"}}\n")
    }

    @Test func noColourWhenPipedOrWithNoColor() throws {
        let r = try repl("error('red?')\nmemmap()\n", environment: ["NO_COLOR": "1"])
        #expect(!r.stdout.contains("\u{1B}["))
        #expect(!r.stderr.contains("\u{1B}["))
    }

    @Test func helpPrintsTheDocOfAName() throws {
        let r = try repl("help(kmalloc)\nhelp \"GFP_ATOMIC\"\nhelp()\n")
        #expect(r.stdout.contains("kmalloc(size, flags) -> address | nil"))
        #expect(r.stdout.contains("GFP_ATOMIC = 0x820"))
        #expect(r.stdout.contains("Allocation:"))
        #expect(r.stdout.contains("Pictures:"))
    }

    @Test func helpOfAnUnknownNameSuggests() throws {
        let r = try repl("help 'kmaloc'\n")
        #expect(r.stderr.contains("no documentation for 'kmaloc'; did you mean kmalloc"))
    }

    @Test func dotCommands() throws {
        let r = try repl(".help\n.boot arch=\"x86_64\"\n.dmesg\n.dmesg\n.stats\n.nosuch\n.quit\n1\n")
        #expect(r.stdout.contains(".boot [OPTIONS]"))
        #expect(r.stdout.contains(".lesson ID"))
        #expect(r.stdout.contains("Linux version"))
        #expect(r.stdout.contains("(no new kernel messages)"))
        #expect(r.stdout.contains("tlb_hits = "))
        #expect(r.stderr.contains("unknown command .nosuch"))
        #expect(!r.stdout.hasSuffix("1\n"), ".quit ends the session")
    }

    @Test func loadRunsAFileInTheSession() throws {
        let dir = try ScratchDirectory()
        let file = try dir.write("lib.lua", "function triple(x) return 3 * x end\n")
        let r = try repl(".load \(file)\ntriple(5)\n.load /nonexistent.lua\n")
        #expect(r.stdout == "15\n")
        #expect(r.stderr.contains(".load: cannot open /nonexistent.lua"))
    }

    @Test func memmapShowsTheVmallocArea() throws {
        let r = try repl("p = vmalloc(5 * 4096)\nmemmap()\n")
        #expect(r.stdout.contains("Physical memory: 1 GiB"))
        #expect(r.stdout.contains("HighMem"))
        #expect(r.stdout.contains("V vmalloc"))
        #expect(r.stdout.contains("5 pages + guard"))
    }

    @Test func memmapSvgIsRefusedInTheSandboxAndWrittenOtherwise() throws {
        let dir = try ScratchDirectory()
        let svg = dir.url.appendingPathComponent("map.svg").path
        let sandboxed = try repl("memmap{svg='\(svg)'}\n", arguments: ["repl", "--sandbox"])
        #expect(sandboxed.stderr.contains("memmap: svg= writes a file, which the sandbox does not allow"))
        #expect(!FileManager.default.fileExists(atPath: svg))
        let trusted = try repl("vmalloc(8192)\nmemmap{svg='\(svg)'}\nmemmap{svgfile='x'}\n")
        #expect(trusted.stdout.contains("memmap: wrote \(svg)"))
        #expect(FileManager.default.fileExists(atPath: svg))
        #expect(trusted.stderr.contains("memmap: unknown option 'svgfile'"))
    }

    @Test func docCommandPrintsTheSameAsHelp() throws {
        let r = try KmlabProcess.run(["doc", "kmalloc"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("kmalloc\n=======\nkmalloc(size, flags) -> address | nil\n"))
        let unknown = try KmlabProcess.run(["doc", "kmaloc"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean kmalloc"))
        let index = try KmlabProcess.run(["doc"])
        #expect(index.status == 0 && index.stdout.contains("GFP flags:"))
    }
}
