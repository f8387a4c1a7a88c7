import Foundation
import Testing

/// The learner's seed reaches the commands: `kmlab lesson N` shows the
/// learner's own variant, the same one every time; `kmlab check` grades
/// against it; `kmlab grade` gives each submission the variant of its id.
@Suite struct LearnerVariantCommandTests {
    let lessons = KmlabProcess.packageRoot.appendingPathComponent("lessons")

    /// A learner: their own state directory (progress file), no pinned seed.
    func learner(seed: String? = nil) throws -> (dir: ScratchDirectory, env: [String: String]) {
        let dir = try ScratchDirectory()
        var e = ProcessInfo.processInfo.environment
        e["XDG_STATE_HOME"] = dir.url.path
        e["KMLAB_LESSONS"] = nil
        e["KMLAB_VARIANT_SEED"] = ""   // the learner's own seed (see pinnedSeed)
        if let seed { try dir.write("kmlab/progress.json", #"{"version":1,"lessons":{},"learner_seed":"\#(seed)"}"#) }
        return (dir, e)
    }

    @Test func lessonShowsTheLearnersOwnVariantTheSameEveryTime() throws {
        let (a, envA) = try learner()
        let first = try KmlabProcess.run(["lesson", "1"], environment: envA)
        let again = try KmlabProcess.run(["lesson", "1"], environment: envA)
        #expect(first.status == 0)
        #expect(first.stdout == again.stdout)
        // The seed was drawn once and kept with the progress.
        let progress = try String(contentsOf: a.url.appendingPathComponent("kmlab/progress.json"), encoding: .utf8)
        #expect(progress.contains("\"learner_seed\""))
        let template = try KmlabProcess.run(["lesson", "1", "--template"], environment: envA)
        #expect(template.stdout == (try KmlabProcess.run(["lesson", "1", "--template"], environment: envA)).stdout)

        // Two learners with different seeds see different questions.
        let (dirB, envB) = try learner(seed: "5eed0b0b")
        let (dirC, envC) = try learner(seed: "5eed0c0c")
        defer { withExtendedLifetime((dirB, dirC)) {} }
        let b = try KmlabProcess.run(["lesson", "1"], environment: envB)
        let c = try KmlabProcess.run(["lesson", "1"], environment: envC)
        #expect(b.stdout != c.stdout)
        #expect(b.stdout == (try KmlabProcess.run(["lesson", "1"], environment: envB)).stdout)
        // --variant-seed shows another learner's variant.
        let asC = try KmlabProcess.run(["lesson", "1", "--variant-seed", "0x5eed0c0c"], environment: envB)
        #expect(asC.stdout == c.stdout)
        let bad = try KmlabProcess.run(["lesson", "1", "--variant-seed", "many"], environment: envB)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--variant-seed must be a number"))
    }

    @Test func checkGradesAgainstTheLearnersSeed() throws {
        let solution = lessons.appendingPathComponent("solutions/01-first-allocations.lua").path
        // The reference solution answers seed 0, the lesson as written.
        let (dir, env) = try learner(seed: "5eed0b0b")
        defer { withExtendedLifetime(dir) {} }
        var pinned = env
        pinned["KMLAB_VARIANT_SEED"] = "0"
        let asWritten = try KmlabProcess.run(["check", "1", solution], environment: pinned)
        #expect(asWritten.stdout.hasSuffix("\nscore: 12/12\n"))
        // Copied into another learner's check, its variant questions lose their points.
        let mine = try KmlabProcess.run(["check", "1", solution], environment: env)
        #expect(mine.status == 0)
        let score = mine.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(score.hasPrefix("score: ") && score != "score: 12/12")
        #expect(mine.stdout == (try KmlabProcess.run(["check", "1", solution], environment: env)).stdout)
        let flag = try KmlabProcess.run(["check", "1", solution, "--variant-seed", "0"], environment: env)
        #expect(flag.stdout == asWritten.stdout)
    }

    @Test func gradeGivesEachSubmissionItsOwnVariantUnlessPinned() throws {
        let scratch = try ScratchDirectory()
        let solution = try String(contentsOf: lessons.appendingPathComponent("solutions/03-contiguity.lua"), encoding: .utf8)
        try scratch.write("class/alice.lua", solution)
        try scratch.write("class/bob.lua", solution)
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_VARIANT_SEED"] = ""
        env["KMLAB_LESSONS"] = nil
        let common = ["grade", "--lesson", "3", "class", "--format", "csv", "--quiet", "--jobs", "1"]
        let derived = try KmlabProcess.run(common + ["--results", "a.jsonl"], currentDirectory: scratch.url, environment: env)
        #expect(derived.status == 0, "\(derived.stderr)")
        // Seed-0 answers lose points in the submissions' own variants.
        #expect(!derived.stdout.contains(",10,10,graded"), "\(derived.stdout)")
        let pinned = try KmlabProcess.run(common + ["--results", "b.jsonl", "--variant-seed", "0"], currentDirectory: scratch.url, environment: env)
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(pinned.stdout.components(separatedBy: ",10,10,graded").count == 3, "\(pinned.stdout)")
        // Another grader secret, other variants: same ids, other scores or feedback.
        var secret = env
        secret["KMLAB_GRADER_SECRET"] = "another course"
        let other = try KmlabProcess.run(common + ["--results", "c.jsonl"], currentDirectory: scratch.url, environment: secret)
        #expect(other.status == 0)
        #expect(other.stdout != derived.stdout)
        let bad = try KmlabProcess.run(common + ["--variant-seed", "x"], currentDirectory: scratch.url, environment: env)
        #expect(bad.status == 2)
    }
}
