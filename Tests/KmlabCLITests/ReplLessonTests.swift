import Foundation
import Testing

/// The REPL's lesson commands (`.lesson`, `.step`, `.check`, `.hint`) driven
/// through piped stdin, each test in its own current directory (where the
/// answers file goes) with its own XDG_STATE_HOME (progress).
@Suite struct ReplLessonTests {
    let cwd: ScratchDirectory
    let state: ScratchDirectory
    let env: [String: String]
    let answersName = "answers-01-first-allocations.lua"

    init() throws {
        cwd = try ScratchDirectory()
        state = try ScratchDirectory()
        var e = ProcessInfo.processInfo.environment
        e["XDG_STATE_HOME"] = state.url.path
        e["KMLAB_LESSONS"] = nil
        e["NO_COLOR"] = nil
        env = e
    }

    var answers: URL { cwd.url.appendingPathComponent(answersName) }
    var progressFile: URL { state.url.appendingPathComponent("kmlab/progress.json") }

    func repl(_ input: String) throws -> KmlabProcess.Result {
        try KmlabProcess.run([], stdin: input, currentDirectory: cwd.url, environment: env)
    }

    func kmlab(_ args: [String]) throws -> KmlabProcess.Result {
        try KmlabProcess.run(args, currentDirectory: cwd.url, environment: env)
    }

    func solution(_ name: String) throws -> Data {
        try Data(contentsOf: KmlabProcess.packageRoot.appendingPathComponent("lessons/solutions/" + name))
    }

    func progress() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: progressFile)) as? [String: Any]
        return (object?["lessons"] as? [String: Any])?["01-first-allocations"] as? [String: Any] ?? [:]
    }

    @Test func lessonShowsTheTextAndCreatesTheAnswersFileFromTheTemplate() throws {
        let r = try repl(".lesson 1\n")
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout.hasPrefix("First allocations\n"))
        #expect(r.stdout.contains("\nno_leak (3 points, task: define make_reply)\n"))
        #expect(r.stdout.contains("Your answers file: \(answers.path) (new, from the template)."))
        let template = try kmlab(["lesson", "1", "--template"]).stdout
        #expect(try String(contentsOf: answers, encoding: .utf8) == template)
        #expect(template.contains("function make_reply("))
    }

    @Test func lessonNeverOverwritesAnAnswersFile() throws {
        try cwd.write(answersName, "answers = {q1 = 47}\n")
        let r = try repl(".lesson first-allocations\n")
        #expect(r.stdout.contains("Your answers file: \(answers.path) (already there, kept as it is)."))
        #expect(try String(contentsOf: answers, encoding: .utf8) == "answers = {q1 = 47}\n")
    }

    @Test func checkOnTheUntouchedTemplateScoresZeroExactlyAsKmlabCheck() throws {
        let r = try repl(".lesson 1\n.check\n")
        #expect(r.stderr == "")
        #expect(r.stdout.contains("\nlesson 01-first-allocations: First allocations: kmalloc, kzalloc, kfree\n\n  q1          0/2   fail\n      no answer: set answers.q1\n"))
        #expect(r.stdout.hasSuffix("\nscore: 0/12\n"))
        // The same report, byte for byte, as the command line gives, but for
        // the advice, which names the REPL's command.
        let cli = try kmlab(["check", "1", answersName])
        #expect(cli.stdout.hasPrefix("lesson 01-first-allocations:"))
        #expect(cli.stdout.contains("\nStuck? `--hint` shows the next hint for each exercise that did not pass.\n"))
        let inRepl = "\nStuck? `.hint` shows the next hint; `.check --hint` shows one for every exercise that did not pass.\n"
        #expect(r.stdout.hasSuffix("\n" + cli.stdout.replacingOccurrences(
            of: "\nStuck? `--hint` shows the next hint for each exercise that did not pass.\n", with: inRepl)))
        #expect(try progress()["best_score"] as? Int == 0)
    }

    @Test func theReferenceSolutionGetsFullMarksAndTheLessonIsDone() throws {
        _ = try repl(".lesson 1\n")
        try solution("01-first-allocations.lua").write(to: answers)
        let r = try repl(".lesson 1\n.check\n.step\n.hint\n.lesson\n")
        #expect(r.stderr == "")
        #expect(r.stdout.contains("All exercises pass. Well done.\nCompare with the reference solution: `kmlab solution 1`.\nscore: 12/12\n"))
        #expect(r.stdout.contains("\nEvery exercise of lesson 01-first-allocations has passed (best 12/12). `.lesson` lists the others.\n"
            + "Every exercise of lesson 01-first-allocations has passed (best 12/12)."))
        let listing = r.stdout.split(separator: "\n").first { $0.hasPrefix("* 01-first-allocations") } ?? ""
        #expect(listing.split(separator: " ").joined(separator: " ") == "* 01-first-allocations done 12/12 First allocations: kmalloc, kzalloc, kfree")
        #expect(r.stdout.contains("You are on 01-first-allocations (*)."))
        #expect(try progress()["passed"] as? [String] == ["kstrdup", "no_leak", "null_check", "q1", "q2", "size_class"])
    }

    @Test func checkTakesAnotherFileAndHintsOnRequest() throws {
        let wrong = KmlabProcess.packageRoot.appendingPathComponent("lessons/wrong/01-first-allocations-no-null-check.lua").path
        let r = try repl(".lesson 1\n.check \(wrong) --hint\n")
        #expect(r.stdout.contains("hint 1/2: kzalloc (or kcalloc) returned nil for the big one"))
        #expect(r.stdout.hasSuffix(try kmlab(["check", "1", wrong]).stdout.split(separator: "\n").last.map { "\n" + $0 + "\n" } ?? "?"))
    }

    @Test func stepShowsTheFirstUnfinishedExercise() throws {
        let first = try repl(".lesson 1\n.step\n")
        #expect(first.stdout.contains("\nLesson 01-first-allocations, exercise 1 of 6:\nq1 (2 points, question: set answers.q1)\n  On a 6.x kernel, p = kmalloc(145, GFP_KERNEL). How many bytes"))
        #expect(first.stdout.hasSuffix("\nIn \(answersName): set answers.q1; `.check` grades it, `.hint` gives a hint.\n"))
        // q1 right, q2 not: after a check the step moves on to q2, a choice.
        try cwd.write(answersName, "answers = {q1 = 47}\n")
        let second = try repl(".lesson 1\n.check\n.step\n")
        #expect(second.stdout.contains("\nLesson 01-first-allocations, exercise 2 of 6:\nq2 (1 point, question: set answers.q2)\n"))
        #expect(second.stdout.contains("\n    b) NULL (nil in kmlab)\n"))
    }

    @Test func hintShowsTheNextHintAndCountsIt() throws {
        let r = try repl(".lesson 1\n.hint\n.hint\n.hint\n")
        #expect(r.stderr == "")
        // The template answers nothing: q1 fails first, with its feedback.
        #expect(r.stdout.contains("\nq1:\n  no answer: set answers.q1\n  hint 1/2: The slab caches are kmalloc-8"))
        #expect(r.stdout.contains("\n  hint 2/2: Try it: print(ksize(kmalloc(145, GFP_KERNEL)) - 145)\n  (that is the last hint for q1)\n"))
        #expect(try progress()["hints_shown"] as? [String: Int] == ["q1": 2])
        // Counted like `kmlab check --hint`: the command line goes on from there.
        let cli = try kmlab(["check", "1", answersName, "--hint"])
        #expect(cli.stdout.contains("hint 2/2: Try it"))
    }

    /// `.hint` follows the current failure as `kmlab check --hint` does:
    /// the failing case's tagged hints, not a counter of the exercise.
    @Test func hintFollowsTheCurrentFailure() throws {
        _ = try repl(".lesson 1\n")
        let answersPrefix = "answers = answers or {}\nanswers.q1 = 47\nanswers.q2 = \"b\"\n"
        try cwd.write(answersName, answersPrefix + "function size_class(n) local s = 8 while s < n do s = s * 2 end return s end\n")
        let pow2 = try repl(".lesson 1\n.hint\n")
        #expect(pow2.stdout.contains("\nsize_class:\n  with "), "\(pow2.stdout)")
        #expect(pow2.stdout.contains("the next power"))
        #expect(pow2.stdout.contains("  hint 1/2: Look at cat(\"/proc/slabinfo\")"))
        // Fixed, but leaking: the next hint is about the leak, from its first.
        try cwd.write(answersName, answersPrefix + "function size_class(n) return ksize(kmalloc(n, GFP_KERNEL)) end\n")
        let leak = try repl(".lesson 1\n.hint\n")
        #expect(leak.stdout.contains("  hint 1/1: Free the object once you have its size"), "\(leak.stdout)")
        // The same choice as the command line's: its next pow2 hint is the second.
        try cwd.write(answersName, answersPrefix + "function size_class(n) local s = 8 while s < n do s = s * 2 end return s end\n")
        let cli = try kmlab(["check", "1", answersName, "--hint"])
        #expect(cli.stdout.contains("hint 2/2: Do not compute the class"), "\(cli.stdout)")
    }

    @Test func gradingLeavesTheReplsMachineAndGlobalsAlone() throws {
        _ = try repl(".lesson 1\n")
        try solution("01-first-allocations.lua").write(to: answers)
        let r = try repl("p = kmalloc(64, GFP_KERNEL)\nbefore = proc('/proc/meminfo') .. proc('/proc/slabinfo')\n.lesson 1\n.check\n"
            + "answers == nil, size_class == nil, proc('/proc/meminfo') .. proc('/proc/slabinfo') == before\n.load \(answersName)\nsize_class(100)\n")
        // Only .load's confirmation: no kernel report, no error.
        #expect(r.stderr.hasPrefix("loaded \(answersName); new globals: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stdout.hasSuffix("score: 12/12\ntrue\ttrue\ttrue\n128\n"))
    }

    @Test func anAnswersFileNamedAfterItsLessonNeedsNoCurrentLesson() throws {
        try solution("01-first-allocations.lua").write(to: answers)
        let r = try repl(".check \(answersName)\n.step\n")
        #expect(r.stdout.hasSuffix("\nscore: 12/12\n"))
        #expect(r.stderr == ".step: no current lesson; start one with .lesson ID (.lesson lists them)\n")
        // The name wins over the current lesson.
        try solution("05-contexts-gfp.lua").write(to: cwd.url.appendingPathComponent("answers-05-contexts-gfp.lua"))
        let other = try repl(".lesson 1\n.check answers-05-contexts-gfp.lua\n")
        #expect(other.stdout.contains("\nlesson 05-contexts-gfp: "))
        #expect(other.stdout.hasSuffix("\nscore: 11/11\n"))
    }

    @Test func misuseGetsClearMessages() throws {
        let r = try repl(".check\n.step\n.hint\n.lesson 99\n.lesson firts-allocations\n.lesson 1\n")
        #expect(r.stderr.contains(".check: no current lesson; start one with .lesson ID (.lesson lists them)\n"))
        #expect(r.stderr.contains(".step: no current lesson"))
        #expect(r.stderr.contains(".hint: no current lesson"))
        // The highest number of the lessons shipped in lessons/ (NN-slug.lua),
        // read from the names, not retyped (numbers may have gaps while a
        // lesson is being written).
        let shipped = try FileManager.default.contentsOfDirectory(atPath: KmlabProcess.packageRoot.appendingPathComponent("lessons").path)
            .filter { $0.hasSuffix(".lua") && $0.first?.isNumber == true }
            .compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
        #expect(r.stderr.contains("no lesson 99: the lessons are numbered 1 to \(shipped) (.lesson lists them)\n"))
        #expect(r.stderr.contains("no lesson 'firts-allocations'; did you mean .lesson 01-first-allocations? (.lesson lists them)\n"))
        #expect(!FileManager.default.fileExists(atPath: cwd.url.appendingPathComponent("answers-99.lua").path))
        // The answers file removed behind the REPL's back.
        let noFile = try repl(".lesson 1\nos.remove('\(answersName)')\n.check\n.check nowhere.lua\n")
        #expect(noFile.stderr.contains(".check: cannot open \(answersName): no such file; .lesson 01-first-allocations creates it from the template\n"))
        #expect(noFile.stderr.contains(".check: cannot open nowhere.lua: no such file\n"))
    }
}

/// `.lesson` in a real terminal: the text is paged (less waits for a key,
/// Ctrl-C inside less does not end the REPL), and the prompt works after.
@Suite(.serialized, .enabled(if: TmuxTerminal.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/less")))
struct ReplLessonTerminalTests {
    @Test func theLessonTextIsPagedAndTheReplGoesOnAfterIt() throws {
        let cwd = try ScratchDirectory()
        let t = try TmuxTerminal()
        #expect(t.waitForPrompt())
        // The same REPL again, with the scratch directory as current directory.
        let command = "cd " + TmuxTerminal.shellQuote(cwd.url.path) + " && env XDG_STATE_HOME=" + TmuxTerminal.shellQuote(t.state.url.path)
            + " TERM=xterm KMLAB_VARIANT_SEED=0 " + TmuxTerminal.shellQuote(KmlabProcess.binary.path)
        try t.tmux(["respawn-pane", "-k", "-t", "0", command])
        #expect(t.waitFor { $0.contains("help() lists the kernel API") })
        try t.type(".lesson 5")
        try t.press("Enter")
        // less shows the first screen and waits at its ':' prompt.
        #expect(t.waitFor { $0.contains("Contexts and GFP flags") && $0.components(separatedBy: "\n").contains(":") })
        try t.press("C-c")
        usleep(300_000)
        #expect(!t.screen.contains("Now on lesson"), "still paging after Ctrl-C")
        try t.press("q")
        #expect(t.waitFor { $0.contains("Now on lesson 05-contexts-gfp.\nYour answers file: ") })
        #expect(t.waitForPrompt())
        try t.type("6 * 7")
        try t.press("Enter")
        #expect(t.waitFor { $0.contains("\n42\n") })
        #expect(FileManager.default.fileExists(atPath: cwd.url.appendingPathComponent("answers-05-contexts-gfp.lua").path))
    }
}
