import Foundation
import KernelLua
import KernelSim
import LuaBridge
import Testing
@testable import Lessons

/// The parts of batch grading that need no worker process: hashing,
/// reading submissions, sharding, the results file and the reports.
@Suite struct BatchEngineTests {
    @Test func sha256MatchesTheFipsVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func shardsAreDisjointCompleteAndDeterministic() throws {
        let items = (0..<23).map { "s\($0)" }
        let n = 4
        let shards = (1...n).map { Shard("\($0)/\(n)")!.select(items) }
        #expect(shards.flatMap { $0 }.sorted() == items.sorted())
        #expect(Set(shards.flatMap { $0 }).count == items.count)
        #expect(shards.map(\.count) == [6, 6, 6, 5])
        #expect(Shard("0/3") == nil && Shard("4/3") == nil && Shard("1/0") == nil && Shard("x") == nil && Shard("1/2/3") == nil)
    }

    @Test func unreadableSubmissionsSayWhy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub/dir.lua"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try Data("answers = {}".utf8).write(to: URL(fileURLWithPath: path("sub/ok.lua")))
        try Data([0x61, 0, 0x62]).write(to: URL(fileURLWithPath: path("sub/nul.lua")))
        try Data([0xc3, 0x28]).write(to: URL(fileURLWithPath: path("sub/latin.lua")))
        try Data(repeating: 0x2d, count: SubmissionFinder.maxSourceBytes + 1).write(to: URL(fileURLWithPath: path("sub/big.lua")))
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("sub/notes.txt")))
        try FileManager.default.createSymbolicLink(atPath: path("sub/link.lua"), withDestinationPath: "missing.lua")

        let ids = try SubmissionFinder.find([path("sub")]).map(\.id)
        #expect(ids == ["sub/big.lua", "sub/dir.lua", "sub/latin.lua", "sub/link.lua", "sub/nul.lua", "sub/ok.lua"])
        func why(_ name: String) -> String {
            if case .unreadable(let w) = SubmissionFinder.read(path("sub/" + name)).content { return w }
            return ""
        }
        #expect(why("big.lua").contains("too large"))
        #expect(why("dir.lua").contains("directory"))
        #expect(why("latin.lua").contains("UTF-8"))
        #expect(why("link.lua").contains("broken symbolic link"))
        #expect(why("nul.lua").contains("NUL byte"))
        #expect(why("missing.lua").contains("no such file"))
        #expect(SubmissionFinder.read(path("sub/ok.lua")).sha256 == SHA256.hex(Array("answers = {}".utf8)))
        // A file given by name is taken whatever its extension.
        #expect(try SubmissionFinder.find([path("sub/notes.txt"), path("sub/notes.txt")]).map(\.id) == ["notes.txt"])
    }

    static func record(_ id: String, score: Int, feedback: String = "") -> GradeRecord {
        let rows = [
            ExerciseResult(id: "q1", status: score > 0 ? .pass : .fail, score: min(score, 2), maxScore: 2, feedback: feedback),
            ExerciseResult(id: "t1", status: score > 2 ? .pass : .timeout, score: max(0, score - 2), maxScore: 3, feedback: "line1\nline2"),
        ]
        return GradeRecord(kmlab: "9.9", lesson: "01-first-allocations", lessonSHA256: "L", limits: "x", sha256: "h-" + id,
                           ms: 7, result: SubmissionResult(id: id, status: .graded, exercises: rows))
    }

    @Test func theResultsFileSurvivesATornLastLineAndResumesCleanly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-results-\(UUID().uuidString).jsonl").path
        defer { unlink(path) }
        do {
            let file = try ResultsFile(path: path, resuming: false)
            try file.append(Self.record("a.lua", score: 5))
            try file.append(Self.record("b.lua", score: 1))
        }
        // A kill in the middle of a write.
        let torn = Self.record("c.lua", score: 3).line
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data(torn.utf8.prefix(40)))
        try handle.close()
        let read = try ResultsFile.read(path)
        #expect(read.records.map(\.result.id) == ["a.lua", "b.lua"])
        #expect(read.skipped == 1)
        #expect(read.records[0] == Self.record("a.lua", score: 5))
        // Resuming cuts the torn line off before appending.
        do {
            let file = try ResultsFile(path: path, resuming: true)
            try file.append(Self.record("c.lua", score: 3))
        }
        #expect(try ResultsFile.read(path).records.map(\.result.id) == ["a.lua", "b.lua", "c.lua"])
        #expect(try ResultsFile.read(path).skipped == 0)
        // Not resuming starts afresh.
        _ = try ResultsFile(path: path, resuming: false)
        #expect(try ResultsFile.read(path).records.isEmpty)
    }

    @Test func reportsDoNotDependOnTheOrderResultsArrivedIn() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        var records = (0..<12).map { Self.record("s\(($0 * 7) % 12).lua", score: $0 % 6) }
        let first = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: false)
        records.reverse()
        let second = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: false)
        for format in BatchReport.Format.allCases {
            #expect(first.render(format) == second.render(format), "\(format)")
            #expect(!first.render(format).contains("ms"), "timings leaked into \(format)")
        }
        let timed = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: true)
        #expect(timed.render(.json).contains("\"time_ms\":7"))
    }

    @Test func csvQuotesPerRfc4180AndJUnitEscapesXml() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let nasty = "a \"b\", c\n<d> & 'e'\u{1}.lua"
        let report = BatchReport(lesson: lesson, toolVersion: "9.9",
                                 records: [Self.record(nasty, score: 0, feedback: "x < y && \"z\"\u{0}")], timings: false)
        let csv = report.render(.csv)
        #expect(csv.hasPrefix("student,submission,total,max,status,"))
        let quoted = "\"a \"\"b\"\", c\n<d> & 'e'\u{1}.lua\""
        #expect(csv.contains("\r\n\(quoted),\(quoted),0,5,graded,"))
        let xml = report.render(.junit)
        #expect(xml.contains("name=\"a &quot;b&quot;, c&#10;&lt;d&gt; &amp; &apos;e&apos;\u{FFFD}.lua\""))
        #expect(xml.contains(">x &lt; y &amp;&amp; &quot;z&quot;\u{FFFD}</failure>"))
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        let json = try JSONSerialization.jsonObject(with: Data(report.render(.json).utf8)) as? [String: Any]
        #expect(json?["schema"] as? String == "kmlab-grade/1")
        let grade = try JSONSerialization.jsonObject(with: Data(report.render(.gradescope).utf8)) as? [String: Any]
        #expect(grade?["score"] as? Int == 0)
        #expect((grade?["tests"] as? [[String: Any]])?.first?["status"] as? String == "failed")
        #expect((grade?["tests"] as? [[String: Any]])?.first?["max_score"] as? Int == 2)
    }

    @Test func junitAndGradescopeCarryTheWholeKernelReport() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        var record = Self.record("a.lua", score: 0)
        let report = "BUG: KASAN: double-free in kfree+0x1/0x2\nCall Trace:\n <TASK>\n free_twice+0x0/0x0 [answers.lua:7]\n </TASK>"
        record.result.exercises[0] = ExerciseResult(id: "q1", status: .bug, score: 0, maxScore: 2,
                                                    feedback: "kernel report: BUG: KASAN: double-free", report: report)
        let batch = BatchReport(lesson: lesson, toolVersion: "9.9", records: [record], timings: false)
        let grade = try JSONSerialization.jsonObject(with: Data(batch.render(.gradescope).utf8)) as? [String: Any]
        let output = (grade?["tests"] as? [[String: Any]])?.first?["output"] as? String ?? ""
        #expect(output.contains("free_twice+0x0/0x0 [answers.lua:7]"))
        #expect(output.hasPrefix("bug: kernel report: BUG: KASAN: double-free"))
        let xml = batch.render(.junit)
        #expect(xml.contains("free_twice+0x0/0x0 [answers.lua:7]"))
        // Without a report the feedback is unchanged.
        #expect(BatchReport.feedbackWithReport(record.result.exercises[1]) == "line1\nline2")
    }

    /// A worker makes thousands of grading states: each must be freed,
    /// Lua state, kernel environment and machine alike (they used to form
    /// reference cycles through the closures registered in the state).
    @Test func aGradingStateIsFreedWhenDone() throws {
        weak var lua: LuaState?
        weak var env: KernelEnvironment?
        weak var machine: Machine?
        do {
            let state = try LessonState(limits: GradingLimits.default.lua)
            let ran = state.lua.run("boot{ ram = '64M' } assert(kmalloc(64, GFP_KERNEL))", chunkName: "=probe")
            if case .failure(let f) = ran { Issue.record("\(f.message)") }
            lua = state.lua
            env = state.kernel
            machine = state.kernel.machine
            state.lua.close()  // as the Grader does when done with a state
        }
        #expect(lua == nil)
        #expect(env == nil)
        #expect(machine == nil)
    }

    @Test func theWorkerProtocolCarriesAnySourceUnchanged() throws {
        // One job through a pipe, answered by a real Grader.
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        var toWorker: [Int32] = [0, 0], fromWorker: [Int32] = [0, 0]
        #expect(pipe(&toWorker) == 0 && pipe(&fromWorker) == 0)
        let source = Array("answers = { q1 = 47, q2 = \"b\" } -- \u{1F600} \"\\n\n".utf8)
        let id = Array("weird id\nwith newline.lua".utf8)
        writeAll(toWorker[1], WorkerProtocol.lessonFrame(lesson) + WorkerProtocol.jobHeader(seq: 42, id: id, source: source) + id + source)
        close(toWorker[1])
        // Seed 0, the lesson as written, which these answers answer.
        try GradeWorker.run(limits: .default, input: toWorker[0], output: fromWorker[1], variantSeed: 0)
        close(fromWorker[1])
        var reader = FDReader(fd: fromWorker[0])
        var messages: [WorkerProtocol.Message] = []
        while let line = reader.line() { messages.append(try JSONDecoder().decode(WorkerProtocol.Message.self, from: Data(line.utf8))) }
        close(toWorker[0]); close(fromWorker[0])
        #expect(messages.first?.ready == true)
        #expect(messages.filter { $0.exercise != nil }.count == lesson.exercises.count)
        let result = messages.last?.result
        #expect(messages.last?.seq == 42)
        #expect(result?.id == "weird id\nwith newline.lua")
        #expect(result == Grader(lesson: lesson).grade(source: source, submissionID: "weird id\nwith newline.lua"))
        #expect(result?.exercises.prefix(2).allSatisfy { $0.status == .pass } == true)
    }
}
