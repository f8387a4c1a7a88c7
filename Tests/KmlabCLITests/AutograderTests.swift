import Foundation
import Testing

/// `kmlab autograder`: the Gradescope bundle run end to end in a scratch
/// /autograder layout, and `autograder run` for both platforms.
@Suite struct AutograderTests {
    let root = KmlabProcess.packageRoot
    var solution: String { root.appendingPathComponent("lessons/solutions/01-first-allocations.lua").path }

    func json(_ path: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: path)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Runs a command with only /usr/bin:/bin on the PATH and no library path.
    func bare(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["-i", "PATH=/usr/bin:/bin", "LD_LIBRARY_PATH="] + extra.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The bundle made with `binary`, unpacked into `autograder/source` of a
    /// fresh root, with `upload` (name → contents) in `autograder/submission`;
    /// run_autograder run from `autograder/`. Returns the results.
    func runBundle(binary: String, upload: [String: String], metadata: String? = nil, scratch: ScratchDirectory) throws -> [String: Any] {
        let zip = scratch.url.appendingPathComponent("autograder.zip").path
        if !FileManager.default.fileExists(atPath: zip) {
            let made = try KmlabProcess.run(["autograder", "gradescope", "--lesson", "1", "--binary", binary, "-o", zip])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let ag = scratch.url.appendingPathComponent("run-\(UUID().uuidString)/autograder")
        for sub in ["source", "submission", "results"] {
            try FileManager.default.createDirectory(at: ag.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        #expect(try bare(["unzip", "-q", zip, "-d", ag.appendingPathComponent("source").path]) == 0)
        for (name, text) in upload {
            let file = ag.appendingPathComponent("submission/" + name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
        if let metadata { try Data(metadata.utf8).write(to: ag.appendingPathComponent("submission_metadata.json")) }
        let status = try bare(["bash", ag.appendingPathComponent("source/run_autograder").path], environment: ["AUTOGRADER_ROOT": ag.path])
        #expect(status == 0)
        return try json(ag.appendingPathComponent("results/results.json"))
    }

    @Test func theGradescopeBundleGradesOneUploadInAGradescopeLayout() throws {
        let scratch = try ScratchDirectory()
        // The static build when `make static` made one (then the toolchain's
        // libraries must not be needed); else this build, which needs them.
        let staticBinary = root.appendingPathComponent(".build-static/release/kmlab").path
        let isStatic = FileManager.default.isExecutableFile(atPath: staticBinary)
        let binary = isStatic ? staticBinary : KmlabProcess.binary.path
        if isStatic {
            let ldd = Process(), pipe = Pipe()
            ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
            ldd.arguments = [staticBinary]
            ldd.standardOutput = pipe
            try ldd.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            ldd.waitUntilExit()
            for library in ["libswift", "libFoundation", "lib_FoundationICU", "libdispatch", "libBlocksRuntime"] {
                #expect(!text.contains(library), "\(text)")
            }
        }
        let solutionText = try String(contentsOfFile: solution, encoding: .utf8)
        let full = try runBundle(binary: binary, upload: ["answers.lua": solutionText], scratch: scratch)
        let tests = try #require(full["tests"] as? [[String: Any]])
        let max = tests.reduce(0) { $0 + ($1["max_score"] as? Int ?? 0) }
        #expect(max > 0 && full["score"] as? Int == max, "\(full)")

        // A copy and a helper add nothing; the output says they were not graded.
        let copy = try runBundle(binary: binary, upload: ["answers.lua": solutionText, "copy.lua": solutionText, "helper.lua": "x = 1"], scratch: scratch)
        #expect(copy["score"] as? Int == max)
        #expect((copy["output"] as? String)?.contains("copy.lua, helper.lua") == true)

        // Nothing gradable: score 0 and why, never a missing results.json.
        let empty = try runBundle(binary: binary, upload: ["notes.txt": "hi"], scratch: scratch)
        #expect(empty["score"] as? Int == 0)
        #expect((empty["output"] as? String)?.contains("no .lua file") == true)

        // A kernel report reaches the student in full, as code.
        let buggy = solutionText + "\nfunction kstrdup(s) local p = kmalloc(#s + 1, GFP_KERNEL); kfree(p); kfree(p); return p end\n"
        let bug = try runBundle(binary: binary, upload: ["answers.lua": buggy], scratch: scratch)
        let bugTests = try #require(bug["tests"] as? [[String: Any]])
        let reported = bugTests.compactMap { $0["output"] as? String }.first { $0.contains("```text\n") }
        #expect(reported?.contains("Call Trace:") == true, "\(bugTests)")
    }

    /// Gradescope's submission_metadata.json (the shape its documentation
    /// gives), trimmed to what matters and one field more.
    static func gradescopeMetadata(userID: String) -> String {
        """
        {"id": 123456, "created_at": "2018-07-01T14:22:32.365935-07:00",
         "assignment": {"id": 25828, "course_id": 1234, "title": "Lesson 1", "total_points": "12.0"},
         "submission_method": "upload",
         "users": [{"email": "student@example.com", "id": \(userID), "name": "Student User"}],
         "previous_submissions": []}
        """
    }

    /// The bundle grades each upload as its student's variant: the seed from
    /// the Gradescope user id and the grader secret, named in the output so
    /// the student can see their variant; that variant's solution (what
    /// `kmlab solution` shows with that seed) scores full marks, the lesson
    /// as written does not. Without metadata: seed 0, and a note.
    @Test func theBundleGradesTheStudentsOwnVariant() throws {
        let scratch = try ScratchDirectory()
        let written = try String(contentsOfFile: solution, encoding: .utf8)
        let graded = try runBundle(binary: KmlabProcess.binary.path, upload: ["answers.lua": written],
                                   metadata: Self.gradescopeMetadata(userID: "4242"), scratch: scratch)
        let output = try #require(graded["output"] as? String)
        let seedText = try #require(output.range(of: #"learner seed \d+"#, options: .regularExpression).map { String(output[$0].dropFirst("learner seed ".count)) },
                                    "\(output)")
        #expect(seedText != "0")
        #expect(output.contains("from your Gradescope user id"), "\(output)")
        let tests = try #require(graded["tests"] as? [[String: Any]])
        let max = tests.reduce(0) { $0 + ($1["max_score"] as? Int ?? 0) }
        #expect((graded["score"] as? Int ?? max) < max, "the lesson as written is not this student's variant: \(graded)")

        let theirs = try KmlabProcess.run(["solution", "1"], environment: ProcessInfo.processInfo.environment.merging(["KMLAB_VARIANT_SEED": seedText]) { $1 })
        #expect(theirs.status == 0, "\(theirs.stderr)")
        let again = try runBundle(binary: KmlabProcess.binary.path, upload: ["answers.lua": theirs.stdout],
                                  metadata: Self.gradescopeMetadata(userID: "4242"), scratch: scratch)
        #expect(again["score"] as? Int == max, "\(again)")
        #expect((again["output"] as? String)?.contains("learner seed " + seedText + ",") == true, "the same student, the same seed")

        // Another student, another seed.
        let other = try runBundle(binary: KmlabProcess.binary.path, upload: ["answers.lua": written],
                                  metadata: Self.gradescopeMetadata(userID: "4243"), scratch: scratch)
        #expect((other["output"] as? String)?.contains("learner seed " + seedText + ",") == false)

        // No id: the lesson as written, and the output says why.
        let plain = try runBundle(binary: KmlabProcess.binary.path, upload: ["answers.lua": written], scratch: scratch)
        #expect(plain["score"] as? Int == max)
        #expect((plain["output"] as? String)?.contains("variant seed 0") == true, "\(plain)")
        let noUser = try runBundle(binary: KmlabProcess.binary.path, upload: ["answers.lua": written],
                                   metadata: #"{"id": 1, "users": []}"#, scratch: scratch)
        #expect(noUser["score"] as? Int == max)
        #expect((noUser["output"] as? String)?.contains("names no user") == true, "\(noUser)")
    }

    /// PrairieLearn's data.json has no user id: its variant_seed stands for
    /// the student's variant of the question.
    @Test func prairieLearnGradesTheVariantOfItsDataFile() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("up/answers.lua", try String(contentsOfFile: solution, encoding: .utf8))
        try scratch.write("data/data.json", #"{"params": {}, "correct_answers": {}, "submitted_answers": {}, "variant_seed": 1827364, "options": {}}"#)
        let out = scratch.url.appendingPathComponent("pl/results.json")
        let r = try KmlabProcess.run(["autograder", "run", "--for", "prairielearn", "--lesson", "1",
                                      "--submission", scratch.url.appendingPathComponent("up").path,
                                      "--metadata", scratch.url.appendingPathComponent("data/data.json").path, "--out", out.path],
                                     environment: ProcessInfo.processInfo.environment.merging(["KMLAB_VARIANT_SEED": ""]) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        let d = try json(out)
        let message = try #require(d["message"] as? String)
        #expect(message.contains("from your PrairieLearn question variant"), "\(message)")
        #expect((d["score"] as? Double ?? 1) < 1, "\(d)")
        // An instructor pinning one variant for everybody still can.
        let pinned = try KmlabProcess.run(["autograder", "run", "--for", "prairielearn", "--lesson", "1",
                                           "--submission", scratch.url.appendingPathComponent("up").path,
                                           "--metadata", scratch.url.appendingPathComponent("data/data.json").path, "--out", out.path])
        #expect(pinned.status == 0)
        #expect(try json(out)["score"] as? Double == 1 || (try json(out)["score"] as? Int) == 1)
    }

    @Test func theBundleRefusesAMissingBinaryAndWarnsOfADynamicOne() throws {
        let scratch = try ScratchDirectory()
        let zip = scratch.url.appendingPathComponent("a.zip").path
        let missing = try KmlabProcess.run(["autograder", "gradescope", "--lesson", "1", "--binary", "/nonexistent/kmlab", "-o", zip])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("make static"), "\(missing.stderr)")
        // This debug build loads the toolchain's libraries: shipped anyway, with a warning.
        let dynamic = try KmlabProcess.run(["autograder", "gradescope", "--lesson", "1", "--binary", KmlabProcess.binary.path, "-o", zip])
        #expect(dynamic.status == 0, "\(dynamic.stderr)")
        #expect(dynamic.stderr.contains("needs the Swift runtime"), "\(dynamic.stderr)")
        #expect(FileManager.default.fileExists(atPath: zip))
        let badPick = try KmlabProcess.run(["autograder", "gradescope", "--lesson", "1", "--pick", "../x.lua", "-o", zip])
        #expect(badPick.status != 0 && badPick.stderr.contains("--pick must be a plain .lua file name"))
    }

    @Test func runWritesResultsForBothPlatformsInEveryCase() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("up/answers.lua", try String(contentsOfFile: solution, encoding: .utf8))
        let gs = scratch.url.appendingPathComponent("gs/results.json")
        let r = try KmlabProcess.run(["autograder", "run", "--for", "gradescope", "--lesson", "1",
                                      "--submission", scratch.url.appendingPathComponent("up").path, "--out", gs.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("score: 12/12"), "\(r.stdout)")
        #expect(try json(gs)["score"] as? Int == 12)

        let pl = scratch.url.appendingPathComponent("pl/results.json")
        try scratch.write("broken/answers.lua", "answers = {")
        let b = try KmlabProcess.run(["autograder", "run", "--for", "prairielearn", "--lesson", "1",
                                      "--submission", scratch.url.appendingPathComponent("broken").path, "--out", pl.path])
        #expect(b.status == 0, "\(b.stderr)")
        let d = try json(pl)
        #expect(d["gradable"] as? Bool == false)

        let none = try KmlabProcess.run(["autograder", "run", "--for", "prairielearn", "--lesson", "1",
                                         "--submission", scratch.url.appendingPathComponent("nowhere").path, "--out", pl.path])
        #expect(none.status == 0)
        #expect(try json(pl)["gradable"] as? Bool == false)

        // A link to the autograder's own files is not graded.
        let linked = scratch.url.appendingPathComponent("linked")
        try FileManager.default.createDirectory(at: linked, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linked.appendingPathComponent("answers.lua").path, withDestinationPath: solution)
        let l = try KmlabProcess.run(["autograder", "run", "--for", "gradescope", "--lesson", "1",
                                      "--submission", linked.path, "--out", gs.path])
        #expect(l.status == 0)
        let ld = try json(gs)
        #expect(ld["score"] as? Int == 0)
        #expect((ld["output"] as? String)?.contains("symbolic link") == true, "\(ld)")

        let bad = try KmlabProcess.run(["autograder", "run", "--for", "moodle", "--lesson", "1", "--submission", ".", "--out", pl.path])
        #expect(bad.status == 64 || bad.status == 2, "\(bad.status)")
        #expect(bad.stderr.contains("--for must be gradescope or prairielearn"))
    }

    @Test func gradeWritesPrairieLearnResults() throws {
        let scratch = try ScratchDirectory()
        let out = scratch.url.appendingPathComponent("results.json")
        let r = try KmlabProcess.run(["grade", "--lesson", "1", solution, "--format", "prairielearn", "--out", out.path,
                                      "--results", scratch.url.appendingPathComponent("r.jsonl").path, "--quiet", "--jobs", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try json(out)
        #expect(d["gradable"] as? Bool == true)
        #expect(d["score"] as? Int == 1)
    }
}
