import Foundation
import Testing

/// `kmlab lessons`, `kmlab lesson`, `kmlab check`: output, exit statuses and
/// the progress file, each test with its own XDG_STATE_HOME.
@Suite struct LessonCommandTests {
    let state: ScratchDirectory
    let env: [String: String]
    let lessons = KmlabProcess.packageRoot.appendingPathComponent("lessons")

    init() throws {
        state = try ScratchDirectory()
        var e = ProcessInfo.processInfo.environment
        e["XDG_STATE_HOME"] = state.url.path
        e["KMLAB_LESSONS"] = nil
        env = e
    }

    var progressFile: URL { state.url.appendingPathComponent("kmlab/progress.json") }

    func kmlab(_ args: [String], cwd: URL? = nil, environment: [String: String]? = nil) throws -> KmlabProcess.Result {
        try KmlabProcess.run(args, currentDirectory: cwd, environment: environment ?? env)
    }

    func file(_ sub: String) -> String { lessons.appendingPathComponent(sub).path }

    /// The `kmlab lessons` line of a lesson, with its padding collapsed.
    func listing(_ stdout: String, _ id: String) -> String {
        let line = stdout.split(separator: "\n").first { $0.contains(id) } ?? ""
        return line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    @Test func referenceSolutionScoresFullMarksAndExitsZero() throws {
        let r = try kmlab(["check", "1", file("solutions/01-first-allocations.lua")])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("lesson 01-first-allocations: First allocations"))
        #expect(r.stdout.hasSuffix("\nscore: 12/12\n"))
        #expect(r.stderr == "")
    }

    @Test func wrongAnswersShowFeedbackAndKernelReports() throws {
        let r = try kmlab(["check", "first-allocations", file("wrong/01-first-allocations-kmalloc-not-zeroed.lua")])
        #expect(r.status == 0)
        #expect(r.stdout.contains("  q1          0/2   fail\n"))
        // Feedback is wrapped to the terminal: compare it with the wrapping undone.
        let unwrapped = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(unwrapped.contains("kmalloc does not clear memory; use kzalloc."))
        #expect(r.stdout.hasSuffix("\nscore: 5/12\n"))
        let bug = try kmlab(["check", "3", file("wrong/03-contiguity-virt-to-page-everywhere.lua")])
        #expect(bug.stdout.contains("      kernel report:\n      | ------------[ cut here ]------------\n      | kernel BUG at arch/x86/mm/physaddr.c:"))
        #expect(bug.stdout.hasSuffix("\nscore: 2/10\n"))
    }

    @Test func hintsComeInOrderAndAreRemembered() throws {
        let answers = file("wrong/01-first-allocations-no-null-check.lua")
        let first = try kmlab(["check", "1", answers, "--hint", "--progress"])
        #expect(first.stdout.contains("hint 1/2: kzalloc (or kcalloc) returned nil for the big one"))
        let second = try kmlab(["check", "1", answers, "--hint", "--progress"])
        #expect(second.stdout.contains("hint 2/2: if not p then return nil end"))
        let third = try kmlab(["check", "1", answers, "--hint", "--progress"])
        #expect(third.stdout.contains("hint 2/2:"))
        let plain = try kmlab(["check", "1", answers])
        #expect(!plain.stdout.contains("hint 1/") && !plain.stdout.contains("hint 2/"))
        #expect(plain.stdout.contains("--hint"))
    }

    @Test func unknownLessonIsAUsageErrorWithASuggestion() throws {
        let r = try kmlab(["check", "first-alocations", "x.lua"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("kmlab: no lesson 'first-alocations'; did you mean '01-first-allocations'?"))
        #expect(r.stdout == "")
        let none = try kmlab(["lesson", "99"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("`kmlab lessons` lists them"))
    }

    @Test func missingAnswersFileIsAUsageError() throws {
        let r = try kmlab(["check", "1", "/nonexistent/a.lua"])
        #expect(r.status == 2)
        #expect(r.stderr == "kmlab: cannot open /nonexistent/a.lua: no such file\n")
        let usage = try kmlab(["check", "1"])
        #expect(usage.status == 2)
    }

    @Test func templateIsAStartingPointThatGrades() throws {
        let dir = try ScratchDirectory()
        let t = try kmlab(["lesson", "1", "--template"])
        #expect(t.status == 0)
        #expect(t.stdout.contains("answers.q1 = nil\n"))
        #expect(t.stdout.contains("function make_reply()\n"))
        let path = try dir.write("a1.lua", t.stdout)
        let r = try kmlab(["check", "1", path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("no answer: set answers.q1"))
        #expect(r.stdout.hasSuffix("\nscore: 0/12\n"))
        let out = dir.url.appendingPathComponent("b1.lua").path
        #expect(try kmlab(["lesson", "1", "--template", "-o", out]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out))
        let again = try kmlab(["lesson", "1", "--template", "-o", out])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
    }

    @Test func lessonTextIsPlainWhenNotATerminal() throws {
        let r = try kmlab(["lesson", "2"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("How much can kmalloc give?\n"))
        #expect(r.stdout.contains("Exercises (12 points)"))
        #expect(r.stdout.contains("get_order (2 points, task: define get_order)"))
        #expect(!r.stdout.contains("\u{1B}"))
    }

    @Test func lessonsListShowsProgress() throws {
        let before = try kmlab(["lessons"])
        #expect(before.status == 0)
        #expect(listing(before.stdout, "01-first-allocations").hasPrefix("01-first-allocations new 12 points First allocations"))
        for id in ["02-limits", "03-contiguity", "04-vmalloc-price", "05-contexts-gfp", "06-allocation-failure",
                   "07-dma", "08-fragmentation", "09-zones-32bit", "10-user-space", "11-capstone-nic"] {
            #expect(before.stdout.contains(id))
        }
        _ = try kmlab(["check", "1", file("wrong/01-first-allocations-no-null-check.lua"), "--progress"])
        #expect(listing(try kmlab(["lessons"]).stdout, "01-first-allocations").hasPrefix("01-first-allocations best 5/12"))
        _ = try kmlab(["check", "1", file("solutions/01-first-allocations.lua"), "--progress"])
        _ = try kmlab(["check", "1", file("wrong/01-first-allocations-no-null-check.lua"), "--progress"])
        #expect(listing(try kmlab(["lessons"]).stdout, "01-first-allocations").hasPrefix("01-first-allocations done 12/12"))
    }

    @Test func corruptProgressIsRecoveredAndKeptAside() throws {
        try FileManager.default.createDirectory(at: progressFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: progressFile)
        let r = try kmlab(["check", "1", file("solutions/01-first-allocations.lua"), "--progress"])
        #expect(r.status == 0)
        let saved = try String(contentsOf: progressFile, encoding: .utf8)
        #expect(saved.contains("\"01-first-allocations\""))
        #expect(FileManager.default.fileExists(atPath: progressFile.path + ".corrupt"))
    }

    @Test func aDamagedEntryDoesNotLoseTheOthers() throws {
        try FileManager.default.createDirectory(at: progressFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("""
        {"version":1,"lessons":{"02-limits":{"best_score":5,"max_score":12,"passed":["order"],"hints_shown":{}},
         "03-contiguity":{"best_score":"lots"}}}
        """.utf8).write(to: progressFile)
        let r = try kmlab(["check", "1", file("solutions/01-first-allocations.lua"), "--progress"])
        #expect(r.status == 0)
        let list = try kmlab(["lessons"])
        #expect(listing(list.stdout, "02-limits").hasPrefix("02-limits best 5/12"))
        #expect(listing(list.stdout, "01-first-allocations").hasPrefix("01-first-allocations done 12/12"))
    }

    @Test func progressIsRecordedOnlyForTheLearnersOwnAnswers() throws {
        let mine = try ScratchDirectory()
        let solution = try String(contentsOfFile: file("solutions/01-first-allocations.lua"), encoding: .utf8)
        try mine.write("answers-01.lua", solution)
        try mine.write("students/alice/answers.lua", solution)
        // A student's file elsewhere: graded, progress untouched.
        let other = try kmlab(["check", "1", "students/alice/answers.lua"], cwd: mine.url)
        #expect(other.stdout.hasSuffix("score: 12/12\n"))
        #expect(!FileManager.default.fileExists(atPath: progressFile.path))
        // The learner's own file, but --no-progress.
        _ = try kmlab(["check", "1", "answers-01.lua", "--no-progress"], cwd: mine.url)
        #expect(!FileManager.default.fileExists(atPath: progressFile.path))
        // The learner's own file in the current directory.
        _ = try kmlab(["check", "1", "answers-01.lua"], cwd: mine.url)
        #expect((try? String(contentsOf: progressFile, encoding: .utf8))?.contains("01-first-allocations") == true)
    }

    @Test func aByteOrderMarkIsAcceptedByCheckAndRun() throws {
        let dir = try ScratchDirectory()
        let solution = try String(contentsOfFile: file("solutions/01-first-allocations.lua"), encoding: .utf8)
        try dir.write("bom.lua", "\u{FEFF}" + solution)
        try dir.write("script.lua", "\u{FEFF}print('hello from a BOM file')\n")
        let c = try kmlab(["check", "1", "bom.lua"], cwd: dir.url)
        #expect(c.stdout.hasSuffix("score: 12/12\n"), "\(c.stdout)")
        let r = try kmlab(["run", "script.lua"], cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "hello from a BOM file\n")
    }

    @Test func lessonsComeFromKmlabLessonsWhenSet() throws {
        let dir = try ScratchDirectory()
        try dir.write("README.md", "test lessons\n")
        try dir.write("01-tiny.lua", """
        return lesson{ id = "01-tiny", title = "Tiny", text = "Three questions.",
          exercises = { question{ id = "q", points = 1, prompt = "PAGE_SIZE?", answer = numeric(PAGE_SIZE, {units = true}), hints = { "4K" } },
                        question{ id = "r", points = 1, prompt = "PAGE_SHIFT?", answer = 12 },
                        question{ id = "s", points = 1, prompt = "2+2?", answer = 4 } } }
        """)
        let answers = try dir.write("a.lua", "answers.q = '4 KiB'\nanswers.r = 12\nanswers.s = 4\n")
        var e = env
        e["KMLAB_LESSONS"] = dir.url.path
        let r = try kmlab(["check", "tiny", answers], environment: e)
        #expect(r.status == 0)
        #expect(r.stdout.hasSuffix("\nscore: 3/3\n"))
        // One broken lesson (and a misnamed file) is listed with its error;
        // the other lessons are still listed, shown and graded.
        try dir.write("02-broken.lua", "return 42")
        try dir.write("03-syntax.lua", "return lesson{ id = ")
        try dir.write("lesson4.lua", "return 42")
        let b = try kmlab(["lessons"], environment: e)
        #expect(b.status == 1)
        #expect(b.stderr.contains("02-broken.lua: a lesson file must return lesson{...}"))
        #expect(b.stderr.contains("03-syntax.lua: 03-syntax.lua:1:"), "\(b.stderr)")
        #expect(b.stderr.contains("lesson4.lua: not a lesson file name"))
        #expect(b.stdout.contains("01-tiny"))
        let again = try kmlab(["check", "1", answers], environment: e)
        #expect(again.status == 0 && again.stdout.hasSuffix("\nscore: 3/3\n"), "\(again.stderr)")
        #expect(try kmlab(["lesson", "tiny"], environment: e).status == 0)
        let shown = try kmlab(["lesson", "2"], environment: e)
        #expect(shown.status == 1)
        #expect(shown.stderr.contains("02-broken.lua: a lesson file must return lesson{...}"), "\(shown.stderr)")
    }
}
