import Foundation
import Testing

/// `kmlab grade` on a class laid out as an instructor gets it: stable ids
/// however the root is spelled, students and one picked file each, shards
/// and resumed runs that cannot be mixed up.
@Suite(.serialized) struct GradeClassTests {
    static let common = ["--lesson", "1", "--jobs", "1", "--quiet"] + GradeFixtures.budgets

    func grade(_ args: [String], in scratch: ScratchDirectory) throws -> KmlabProcess.Result {
        try KmlabProcess.run(["grade"] + args + Self.common, currentDirectory: scratch.url)
    }

    @Test func idsDoNotDependOnHowTheRootIsSpelled() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("subs/alice/answers.lua", GradeFixtures.reference)
        try scratch.write("subs/bob/answers.lua", "")
        let reference = try grade(["subs", "--format", "csv", "--results", "a.jsonl"], in: scratch)
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(reference.stdout.contains("\r\nsubs/alice/answers.lua,subs/alice/answers.lua,12,12,graded,"))
        for root in ["./subs", "subs/", scratch.url.path + "/subs"] {
            let other = try grade([root, "--format", "csv", "--results", "b.jsonl"], in: scratch)
            #expect(other.stdout == reference.stdout, "\(root)")
        }
        // So a resumed run over another spelling reuses every result.
        let resumed = try KmlabProcess.run(["grade", "./subs", "--results", "a.jsonl", "--resume"] + Self.common.filter { $0 != "--quiet" },
                                           currentDirectory: scratch.url)
        #expect(resumed.stderr.components(separatedBy: "(saved result)").count == 3, "\(resumed.stderr)")
    }

    @Test func pickGradesOneFilePerStudentAndListsStudentsWithout() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("subs/alice/answers.lua", GradeFixtures.reference)
        try scratch.write("subs/alice/helper.lua", "error('not graded')")
        try scratch.write("subs/bob/answers.lua.bak", "")
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("subs/carol"), withIntermediateDirectories: true)
        let r = try grade(["subs", "--pick", "answers.lua", "--format", "json"], in: scratch)
        #expect(r.status == 0, "\(r.stderr)")
        let subs = try GradeFixtures.submissions(r.stdout)
        #expect(Set(subs.keys) == ["subs/alice/answers.lua", "subs/bob/answers.lua", "subs/carol/answers.lua"])
        #expect(subs["subs/alice/answers.lua"]?["student"] as? String == "alice")
        #expect(subs["subs/alice/answers.lua"]?["score"] as? Int == 12)
        #expect(subs["subs/bob/answers.lua"]?["status"] as? String == "missing")
        let text = try grade(["subs", "--pick", "answers.lua", "--results", "t.jsonl"], in: scratch)
        #expect(text.stdout.contains("2 students have no file to grade (status missing): bob, carol"), "\(text.stdout)")
        // Student ids by regular expression, in the CSV.
        try scratch.write("flat/u123-hw.lua", GradeFixtures.reference)
        let csv = try grade(["flat", "--id-from", "regex:u([0-9]+)", "--format", "csv", "--results", "c.jsonl"], in: scratch)
        #expect(csv.stdout.contains("\r\n123,flat/u123-hw.lua,12,12,graded,"), "\(csv.stdout)")
    }

    @Test func mergeRefusesMissingShardsUnlessAllowed() throws {
        let scratch = try ScratchDirectory()
        for i in 0..<3 { try scratch.write("class/s\(i).lua", i == 0 ? GradeFixtures.reference : "") }
        for k in 1...3 { #expect(try grade(["class", "--shard", "\(k)/3", "--results", "shard-\(k).jsonl", "--format", "json"], in: scratch).status == 0) }
        let partial = try KmlabProcess.run(["grade", "--merge", "shard-1.jsonl", "shard-3.jsonl"], currentDirectory: scratch.url)
        #expect(partial.status == 2)
        #expect(partial.stderr.contains("missing shard 2/3 of 3"), "\(partial.stderr)")
        let allowed = try KmlabProcess.run(["grade", "--merge", "shard-1.jsonl", "shard-3.jsonl", "--allow-partial", "--format", "json"], currentDirectory: scratch.url)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try GradeFixtures.submissions(allowed.stdout).count == 2)
        let twice = try KmlabProcess.run(["grade", "--merge", "shard-1.jsonl", "shard-2.jsonl", "shard-3.jsonl", "shard-2.jsonl"], currentDirectory: scratch.url)
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("shard 2/3 is in both"), "\(twice.stderr)")
    }

    @Test func resumeRefusesTheResultsOfAnotherLessonOrOtherOptions() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", "")
        #expect(try grade(["class", "--results", "r.jsonl"], in: scratch).status == 0)
        let before = try String(contentsOf: scratch.url.appendingPathComponent("r.jsonl"), encoding: .utf8)
        let lesson2 = try KmlabProcess.run(["grade", "--lesson", "2", "class", "--results", "r.jsonl", "--resume", "--quiet"] + GradeFixtures.budgets,
                                           currentDirectory: scratch.url)
        #expect(lesson2.status == 2)
        #expect(lesson2.stderr.contains("holds results of lesson 01-first-allocations"), "\(lesson2.stderr)")
        let picked = try grade(["class", "--results", "r.jsonl", "--resume", "--id-from", "file"], in: scratch)
        #expect(picked.status == 2)
        #expect(try String(contentsOf: scratch.url.appendingPathComponent("r.jsonl"), encoding: .utf8) == before, "nothing appended")
        // Another --timeout is fine: that is what resuming after timeouts is for.
        #expect(try grade(["class", "--results", "r.jsonl", "--resume", "--timeout", "30"], in: scratch).status == 0)
    }

    /// The grader secret draws the cases (and, without --variant-seed, the
    /// learners' seeds): a resumed batch keeps it. The results file holds
    /// its fingerprint, never the secret.
    @Test func resumeRefusesAnotherGraderSecret() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", "")
        try scratch.write("class/b.lua", GradeFixtures.reference)
        func run(secret: String?, _ extra: [String]) throws -> KmlabProcess.Result {
            var env = ProcessInfo.processInfo.environment
            env["KMLAB_GRADER_SECRET"] = secret
            return try KmlabProcess.run(["grade", "class", "--results", "r.jsonl"] + extra + Self.common,
                                        currentDirectory: scratch.url, environment: env)
        }
        #expect(try run(secret: "course staff only 1", []).status == 0)
        let saved = try String(contentsOf: scratch.url.appendingPathComponent("r.jsonl"), encoding: .utf8)
        #expect(!saved.contains("course staff only"))
        #expect(saved.components(separatedBy: "\"secret_fingerprint\":\"").count == 4, "header and both records carry it: \(saved)")

        let other = try run(secret: "course staff only 2", ["--resume"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("was graded with the grader secret with fingerprint"), "\(other.stderr)")
        #expect(other.stderr.contains("Set KMLAB_GRADER_SECRET as it was"), "\(other.stderr)")
        let unset = try run(secret: nil, ["--resume"])
        #expect(unset.status == 2, "the built-in secret is another secret too")
        #expect(try String(contentsOf: scratch.url.appendingPathComponent("r.jsonl"), encoding: .utf8) == saved, "nothing appended")

        let same = try run(secret: "course staff only 1", ["--resume"])
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test func linksOutOfTheClassAndByteOrderMarks() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("secret.txt", "TOP-SECRET-LINE = 1")
        try scratch.write("class/bom.lua", "\u{FEFF}" + GradeFixtures.reference)
        symlink(scratch.url.path + "/secret.txt", scratch.url.path + "/class/steal.lua")
        let r = try grade(["class", "--format", "json"], in: scratch)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("TOP-SECRET"))
        let subs = try GradeFixtures.submissions(r.stdout)
        #expect(subs["class/steal.lua"]?["status"] as? String == "unreadable")
        #expect(subs["class/bom.lua"]?["score"] as? Int == 12)
    }
}

extension GradeClassTests {
    @Test func feedbackFilesHoldFullKernelReportsAndCopiesAreListed() throws {
        let scratch = try ScratchDirectory()
        let wrong = try String(contentsOf: KmlabProcess.packageRoot.appendingPathComponent("lessons/wrong/03-contiguity-virt-to-page-everywhere.lua"), encoding: .utf8)
        try scratch.write("subs/alice/answers.lua", wrong)
        try scratch.write("subs/bob/answers.lua", wrong)
        let r = try KmlabProcess.run(["grade", "--lesson", "3", "subs", "--id-from", "dir", "--feedback-dir", "feedback", "--quiet", "--jobs", "1"],
                                     currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(GradeFixtures.files(scratch.url.appendingPathComponent("feedback")) == ["alice.txt", "bob.txt"])
        let alice = try String(contentsOf: scratch.url.appendingPathComponent("feedback/alice.txt"), encoding: .utf8)
        #expect(alice.contains("kernel report:") && alice.contains("kernel BUG at arch/x86/mm/physaddr.c:"), "\(alice)")
        #expect(r.stdout.contains("identical: subs/alice/answers.lua, subs/bob/answers.lua"), "\(r.stdout)")
        try scratch.write("not-a-dir", "")
        let bad = try KmlabProcess.run(["grade", "--lesson", "3", "subs", "--feedback-dir", "not-a-dir", "--quiet"], currentDirectory: scratch.url)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("not a directory"), "\(bad.stderr)")
    }
}
