import Foundation
import Testing

/// What a learner gets after a pass, and the files the lessons point to:
/// `kmlab solution` (refused before the lesson is passed unless forced),
/// the exercises' `explain` notes, `kmlab lessons` with hints used and
/// what is next, `kmlab example`.
@Suite struct AfterAPassTests {
    let state: ScratchDirectory
    let env: [String: String]
    let root = KmlabProcess.packageRoot

    init() throws {
        state = try ScratchDirectory()
        var e = ProcessInfo.processInfo.environment
        e["XDG_STATE_HOME"] = state.url.path
        e["KMLAB_LESSONS"] = nil
        env = e
    }

    func kmlab(_ args: [String], cwd: URL? = nil, environment: [String: String]? = nil) throws -> KmlabProcess.Result {
        try KmlabProcess.run(args, currentDirectory: cwd, environment: environment ?? env)
    }

    func onDisk(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func theSolutionOpensOnlyOnceTheLessonIsPassed() throws {
        let solution = try onDisk("lessons/solutions/03-contiguity.lua")
        let refused = try kmlab(["solution", "3"])
        #expect(refused.status == 1)
        #expect(refused.stdout == "")
        #expect(refused.stderr.contains("The solution to lesson 03-contiguity opens once you have passed it."))
        #expect(refused.stderr.contains("`kmlab solution 3 --force`"))

        // A partial score is not a pass.
        let scratch = try ScratchDirectory()
        let partial = try scratch.write("a.lua", "answers = {}\n")
        _ = try kmlab(["check", "3", partial, "--progress"])
        let stillRefused = try kmlab(["solution", "contiguity"])
        #expect(stillRefused.status == 1)
        #expect(stillRefused.stderr.contains("(your best so far: 0/"))

        let forced = try kmlab(["solution", "3", "--force"])
        #expect(forced.status == 0)
        #expect(forced.stdout == solution)

        _ = try kmlab(["check", "3", root.appendingPathComponent("lessons/solutions/03-contiguity.lua").path, "--progress"])
        let opened = try kmlab(["solution", "03-contiguity"])
        #expect(opened.status == 0)
        #expect(opened.stdout == solution)
    }

    @Test func unknownLessonsAreUsageErrors() throws {
        let r = try kmlab(["solution", "99"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("99"))
    }

    @Test func explainNotesShowOnlyForPassedExercises() throws {
        let dir = try ScratchDirectory()
        try dir.write("01-tiny.lua", """
        return lesson{ id = "01-tiny", title = "Tiny", text = "Two questions.",
          exercises = {
            question{ id = "page", points = 1, prompt = "PAGE_SIZE?", answer = numeric(PAGE_SIZE, {units = true}),
                      explain = "x86 pages are 4 KiB: the MMU maps memory in those units." },
            question{ id = "order", points = 1, prompt = "Pages in an order-3 block?", answer = 8,
                      explain = "An order-n block is 2^n pages." },
            question{ id = "shift", points = 1, prompt = "PAGE_SHIFT?", answer = 12 } } }
        """)
        var e = env
        e["KMLAB_LESSONS"] = dir.url.path
        let half = try dir.write("half.lua", "answers = {page = '4K', order = 3, shift = 12}\n")
        let r = try kmlab(["check", "tiny", half], environment: e)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("why: x86 pages are 4 KiB: the MMU maps memory in those units."))
        #expect(!r.stdout.contains("2^n"), "the note of an exercise not passed gives its answer away")
        let all = try dir.write("all.lua", "answers = {page = '4K', order = 8, shift = 12}\n")
        let full = try kmlab(["check", "tiny", all], environment: e)
        #expect(full.stdout.contains("why: An order-n block is 2^n pages."))
        #expect(full.stdout.contains("`kmlab solution 1`"))
    }

    // (Files checked here live outside the current directory: --progress
    // records them as the learner's own; see CheckCommand.isOwnAnswers.)
    @Test func lessonsShowsHintsUsedAndWhatIsNext() throws {
        let fresh = try kmlab(["lessons"])
        #expect(fresh.stdout.contains("Next: lesson 01-first-allocations: `kmlab lesson 1` to read it, `kmlab watch 1` to work on it."))
        _ = try kmlab(["check", "1", root.appendingPathComponent("lessons/solutions/01-first-allocations.lua").path, "--progress"])
        let scratch = try ScratchDirectory()
        let wrong = try scratch.write("w.lua", "answers = {}\n")
        _ = try kmlab(["check", "2", wrong, "--hint", "--progress"])
        _ = try kmlab(["check", "2", wrong, "--hint", "--progress"])
        let r = try kmlab(["lessons"])
        let line = r.stdout.split(separator: "\n").first { $0.contains("02-limits") }.map(String.init) ?? ""
        // Two checks with --hint: two hints for each exercise not passed.
        #expect(line.range(of: "best 0/\\d+, \\d+ hints", options: .regularExpression) != nil, "\(line)")
        #expect(r.stdout.contains("Next: lesson 02-limits (started): `kmlab lesson 2`"))
    }

    @Test func examplesArePrintedAndWrittenFromAnyDirectory() throws {
        let nic = try onDisk("examples/nic.lua")
        let elsewhere = try ScratchDirectory()
        let printed = try kmlab(["example", "nic"], cwd: elsewhere.url)
        #expect(printed.status == 0)
        #expect(printed.stdout == nic)
        let list = try kmlab(["example"], cwd: elsewhere.url)
        #expect(list.stdout.contains("  nic.lua\n"))
        let written = try kmlab(["example", "nic.lua", "--write"], cwd: elsewhere.url)
        #expect(written.status == 0)
        #expect(try String(contentsOf: elsewhere.url.appendingPathComponent("nic.lua"), encoding: .utf8) == nic)
        let again = try kmlab(["example", "nic", "--write"], cwd: elsewhere.url)
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
        let run = try kmlab(["run", "nic.lua"], cwd: elsewhere.url)
        #expect(run.status == 0, "\(run.stderr)")
        for bad in ["nosuch", "../lessons/README", "/etc/passwd"] {
            let r = try kmlab(["example", bad], cwd: elsewhere.url)
            #expect(r.status == 2)
            #expect(r.stderr.contains("the examples are: nic"))
        }
    }
}
