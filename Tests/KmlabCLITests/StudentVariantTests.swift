import Foundation
import Testing

/// `--variant-for ID`: an instructor sees the variant a student is graded
/// as, from the same derivation `kmlab grade` and the autograders use.
@Suite struct StudentVariantTests {
    /// The environment of a course: its own grader secret, no pinned seed
    /// (an empty KMLAB_VARIANT_SEED removes the tests' default pin), a
    /// scratch progress directory.
    func course(_ secret: String, state: ScratchDirectory) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_GRADER_SECRET"] = secret
        env["KMLAB_VARIANT_SEED"] = ""
        env["XDG_STATE_HOME"] = state.url.path
        env["KMLAB_LESSONS"] = nil
        return env
    }

    /// The seed the note on stderr names.
    func namedSeed(_ stderr: String) -> String? {
        stderr.range(of: #"learner seed \d+"#, options: .regularExpression).map { String(stderr[$0].dropFirst("learner seed ".count)) }
    }

    /// The solution `--variant-for` shows for a submission id scores full
    /// marks when `kmlab grade` grades it under that id, and loses points
    /// under another id: the command and the grader derive the same seed.
    @Test(arguments: ["course one", "another secret"])
    func theShownVariantIsTheOneKmlabGradeGrades(secret: String) throws {
        let scratch = try ScratchDirectory()
        let env = course(secret, state: scratch)
        let id = "class/alice.lua"
        let solution = try KmlabProcess.run(["solution", "1", "--force", "--variant-for", id], currentDirectory: scratch.url, environment: env)
        #expect(solution.status == 0, "\(solution.stderr)")
        let seed = try #require(namedSeed(solution.stderr), "\(solution.stderr)")
        #expect(seed != "0")
        let fingerprint = try #require(solution.stderr.range(of: #"fingerprint [0-9a-f]{16}"#, options: .regularExpression).map { String(solution.stderr[$0].dropFirst("fingerprint ".count)) },
                                       "\(solution.stderr)")
        try scratch.write(id, solution.stdout)
        try scratch.write("class/bob.lua", solution.stdout)
        let graded = try KmlabProcess.run(["grade", "--lesson", "1", "class", "--format", "json", "--quiet", "--jobs", "1"],
                                          currentDirectory: scratch.url, environment: env)
        #expect(graded.status == 0, "\(graded.stderr)")
        let subs = try GradeFixtures.submissions(graded.stdout)
        let recorded = try String(contentsOf: scratch.url.appendingPathComponent("kmlab-results.jsonl"), encoding: .utf8)
        #expect(recorded.contains(fingerprint), "kmlab grade ran under the secret the note names")
        let max = try #require(subs[id]?["max_score"] as? Int)
        #expect(subs[id]?["score"] as? Int == max, "alice's own variant: \(graded.stdout)")
        #expect((subs["class/bob.lua"]?["score"] as? Int ?? max) < max, "bob is graded as his own variant")

        // `kmlab lesson` shows the same variant `--variant-seed` of that seed shows.
        let shown = try KmlabProcess.run(["lesson", "1", "--variant-for", id], currentDirectory: scratch.url, environment: env)
        let pinned = try KmlabProcess.run(["lesson", "1", "--variant-seed", seed], currentDirectory: scratch.url, environment: env)
        #expect(shown.status == 0 && pinned.status == 0)
        #expect(namedSeed(shown.stderr) == seed)
        #expect(shown.stdout == pinned.stdout)
        #expect(!shown.stdout.isEmpty)
    }

    /// The Gradescope bundle's seed for a user id is the one `--variant-for`
    /// that id names.
    @Test func theAutograderSeedOfAUserIdIsTheOneShown() throws {
        let scratch = try ScratchDirectory()
        let env = course("a course secret", state: scratch)
        try scratch.write("submission/answers.lua", "answers = {}\n")
        try scratch.write("submission_metadata.json", #"{"id": 1, "users": [{"email": "s@example.com", "id": 4242, "name": "S"}]}"#)
        let run = try KmlabProcess.run(["autograder", "run", "--for", "gradescope", "--lesson", "1", "--submission", "submission", "--metadata", "submission_metadata.json",
                                        "--out", "results/results.json"], currentDirectory: scratch.url, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        let results = try String(contentsOf: scratch.url.appendingPathComponent("results/results.json"), encoding: .utf8)
        let graded = try #require(namedSeed(results), "\(results)")
        let shown = try KmlabProcess.run(["lesson", "1", "--variant-for", "gradescope-user:4242"], currentDirectory: scratch.url, environment: env)
        #expect(namedSeed(shown.stderr) == graded, "\(shown.stderr)")
    }

    @Test func anEmptyIdOrTwoSeedsAreUsageErrors() throws {
        let scratch = try ScratchDirectory()
        let env = course("x", state: scratch)
        let empty = try KmlabProcess.run(["lesson", "1", "--variant-for", ""], currentDirectory: scratch.url, environment: env)
        #expect(empty.status == 64 || empty.status == 2, "\(empty.status)")
        #expect(empty.stderr.contains("--variant-for needs a student id"), "\(empty.stderr)")
        let both = try KmlabProcess.run(["check", "1", "a.lua", "--variant-for", "alice", "--variant-seed", "3"], currentDirectory: scratch.url, environment: env)
        #expect(both.status != 0)
        #expect(both.stderr.contains("--variant-for and --variant-seed both pick a variant"), "\(both.stderr)")
    }
}
