import Foundation
import Testing

/// `kmlab watch` in a real terminal (tmux, as ReplTerminalTests): a save
/// brings the new verdict without a key, single keys work without Enter,
/// and the terminal is left as it was found however watch ends.
@Suite(.serialized, .enabled(if: TmuxTerminal.available))
struct WatchTerminalTests {
    let answersName = "answers-01-first-allocations.lua"

    func solution() throws -> String {
        try String(contentsOf: KmlabProcess.packageRoot.appendingPathComponent("lessons/solutions/01-first-allocations.lua"), encoding: .utf8)
    }

    /// Saves as editors do: a new file renamed over the old one.
    func save(_ text: String, in dir: ScratchDirectory) throws {
        let tmp = try dir.write(".answers.swp", text)
        #expect(rename(tmp, dir.url.appendingPathComponent(answersName).path) == 0)
    }

    /// The terminal's local modes once kmlab has gone, written by `stty -a`.
    func sttyAfter(_ dir: ScratchDirectory) -> String {
        // Written aside and renamed, so the test never reads a half-written file.
        let path = TmuxTerminal.shellQuote(dir.url.appendingPathComponent("stty.txt").path)
        let part = TmuxTerminal.shellQuote(dir.url.appendingPathComponent("stty.part").path)
        return "stty -a > " + part + " && mv " + part + " " + path + "; sleep 30"
    }

    func sttyText(_ dir: ScratchDirectory) -> String? {
        try? String(contentsOf: dir.url.appendingPathComponent("stty.txt"), encoding: .utf8)
    }

    @Test(arguments: [false, true])
    func aSaveBringsTheNewVerdict(polling: Bool) throws {
        let dir = try ScratchDirectory()
        let t = try TmuxTerminal(arguments: ["watch", "1"] + (polling ? ["--poll"] : []), directory: dir.url)
        // No answers file yet: watch writes the template and says so.
        #expect(t.waitFor { $0.contains("exercise 1 of 6 (0 passed): q1") })
        #expect(t.screen.contains("Wrote \(answersName) from the lesson's template"))
        #expect(t.screen.contains(polling ? "(polling)" : "(inotify)"))
        #expect(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent(answersName).path))

        try save("answers = {q1 = 47}\n", in: dir)
        #expect(t.waitFor { $0.contains("exercise 2 of 6 (1 passed): q2") })
        #expect(t.screen.contains("score 2/12"))

        try save("answers = {q1 = 47\n", in: dir)
        #expect(t.waitFor { $0.contains("did not run to the end") })

        try save(try solution(), in: dir)
        #expect(t.waitFor { $0.contains("All 6 exercises pass (12/12)") })
        // Never moves on by itself: lesson 1 stays, the next one is named.
        #expect(t.screen.contains("kmlab watch: lesson 01-first-allocations"))
        #expect(t.screen.contains("Next: lesson 02-limits"))
        #expect(t.screen.contains("`kmlab solution 1`"))
    }

    @Test func keysWorkWithoutEnterAndQuitRestoresTheTerminal() throws {
        let dir = try ScratchDirectory()
        try dir.write(answersName, "answers = {q1 = 100}\n")
        let t = try TmuxTerminal(arguments: ["watch", answersName], directory: dir.url, after: sttyAfter(dir))
        #expect(t.waitFor { $0.contains("exercise 1 of 6 (0 passed): q1") })
        try t.type("h")
        #expect(t.waitFor { $0.contains("hint 1/") })
        try t.type("h")
        #expect(t.waitFor { $0.contains("hint 2/") })
        try t.type("l")
        #expect(t.waitFor { $0.contains("All exercises:") && $0.contains("no_leak") })
        // Hints are counted as `kmlab check --hint` counts them.
        let progress = t.state.url.appendingPathComponent("kmlab/progress.json")
        #expect(((try? String(contentsOf: progress, encoding: .utf8)) ?? "").contains("\"q1\" : 2"))
        try t.type("q")
        #expect(t.waitFor { _ in sttyText(dir) != nil })
        let stty = sttyText(dir) ?? ""
        #expect(stty.contains(" icanon") && stty.contains(" echo "), "\(stty)")
    }

    @Test func ctrlCRestoresTheTerminal() throws {
        let dir = try ScratchDirectory()
        // The shell ignores SIGINT so that it lives on to run stty; kmlab
        // sets its own handler.
        let t = try TmuxTerminal(arguments: ["watch", "1"], directory: dir.url, before: "trap '' INT", after: sttyAfter(dir))
        #expect(t.waitFor { $0.contains("exercise 1 of 6") })
        try t.press("C-c")
        #expect(t.waitFor { _ in sttyText(dir) != nil })
        let stty = sttyText(dir) ?? ""
        #expect(stty.contains(" icanon") && stty.contains(" echo "), "\(stty)")
    }
}
