import Foundation
import Testing

/// Nothing is lost and nothing differs: a worker killed mid-batch, a batch
/// interrupted and resumed, and shards merged all give the report a plain
/// run gives, byte for byte.
@Suite(.serialized) struct GradeResilienceTests {
    /// A small class: good, wrong, failing and slow submissions.
    static func makeClass(_ scratch: ScratchDirectory, slow: Int = 0) throws {
        let root = KmlabProcess.packageRoot.appendingPathComponent("lessons")
        for name in ["01-first-allocations-kmalloc-not-zeroed.lua", "01-first-allocations-no-null-check.lua"] {
            try scratch.write("class/wrong/" + name, String(contentsOf: root.appendingPathComponent("wrong/" + name), encoding: .utf8))
        }
        try scratch.write("class/good.lua", GradeFixtures.reference)
        try scratch.write("class/loop.lua", "while true do end")
        try scratch.write("class/syntax, \"quoted\" <name>.lua", "function (")
        try Data("x\0".utf8).write(to: scratch.url.appendingPathComponent("class/nul.lua"))
        for i in 0..<slow { try scratch.write("class/slow/s\(i).lua", GradeFixtures.slowGood(2_000_000)) }
    }

    static let common = ["--quiet", "--max-instructions", "20000000", "--max-memory", "32M", "--timeout", "60"]

    func grade(_ extra: [String], in scratch: ScratchDirectory) throws -> KmlabProcess.Result {
        let r = try KmlabProcess.run(["grade", "--lesson", "1", "class"] + Self.common + extra, currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        return r
    }

    @Test func shardsMergedEqualTheUnshardedReportByteForByte() throws {
        let scratch = try ScratchDirectory()
        try Self.makeClass(scratch, slow: 2)
        for format in ["text", "json", "csv", "junit", "gradescope"] {
            let whole = try grade(["--format", format, "--results", "whole.jsonl"], in: scratch)
            for k in 1...3 {
                _ = try grade(["--shard", "\(k)/3", "--results", "shard-\(k).jsonl", "--format", "json"], in: scratch)
            }
            // The shards are disjoint and complete.
            let counts = (1...3).map { GradeFixtures.lines(scratch.url.appendingPathComponent("shard-\($0).jsonl")).count }
            #expect(counts == [3, 3, 2], "\(counts)")
            // A torn last line (a killed shard) is ignored.
            let handle = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("shard-2.jsonl"))
            handle.seekToEndOfFile()
            handle.write(Data("{\"kmlab\":\"0.1.0\",\"less".utf8))
            try handle.close()
            let merged = try KmlabProcess.run(["grade", "--merge", "shard-1.jsonl", "shard-2.jsonl", "shard-3.jsonl", "--format", format],
                                              currentDirectory: scratch.url)
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(merged.stdout == whole.stdout, "\(format)")
            #expect(!whole.stdout.isEmpty)
            if format != "json" { continue }
            // The same inputs give the same bytes again.
            let again = try grade(["--format", format, "--results", "again.jsonl", "--jobs", "1"], in: scratch)
            #expect(again.stdout == whole.stdout)
        }
    }

    @Test func aWorkerKilledMidBatchCostsNothing() throws {
        let scratch = try ScratchDirectory()
        try Self.makeClass(scratch, slow: 6)
        let reference = try grade(["--format", "json", "--results", "reference.jsonl"], in: scratch)
        let run = try RunningKmlab(["grade", "--lesson", "1", "class", "--format", "json", "--results", "killed.jsonl", "--jobs", "2"] + Self.common,
                                   in: scratch.url)
        var killed: pid_t = 0
        #expect(RunningKmlab.waitFor(30) {
            guard let pid = run.workers.first else { return false }
            killed = pid
            return true
        })
        usleep(200_000)
        if killed > 0 { kill(killed, SIGKILL) }
        let (status, stdout) = run.finish()
        #expect(status == 0)
        #expect(stdout == reference.stdout)
    }

    @Test func anInterruptedBatchResumesToTheSameReport() throws {
        let scratch = try ScratchDirectory()
        try Self.makeClass(scratch, slow: 6)
        let reference = try grade(["--format", "csv", "--results", "reference.jsonl"], in: scratch)
        let results = scratch.url.appendingPathComponent("partial.jsonl")
        let run = try RunningKmlab(["grade", "--lesson", "1", "class", "--format", "csv", "--results", "partial.jsonl", "--jobs", "1"] + Self.common,
                                   in: scratch.url)
        #expect(RunningKmlab.waitFor(60) { GradeFixtures.lines(results).count >= 3 })
        kill(run.process.processIdentifier, SIGINT)
        let (status, stdout) = run.finish()
        #expect(status == 130)
        #expect(stdout.isEmpty)
        let saved = GradeFixtures.lines(results).count
        #expect(saved >= 3 && saved < 12, "\(saved)")
        // No worker outlives the batch.
        #expect(RunningKmlab.waitFor(5) { run.workers.isEmpty })

        let resumed = try KmlabProcess.run(["grade", "--lesson", "1", "class", "--format", "csv", "--results", "partial.jsonl", "--resume"] + Self.common.filter { $0 != "--quiet" },
                                           currentDirectory: scratch.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout == reference.stdout)
        // Saved results are reused; unreadable files are looked at again.
        let reused = resumed.stderr.components(separatedBy: "(saved result)").count - 1
        let savedReadable = GradeFixtures.lines(results).prefix(saved).filter { !$0.contains("\"unreadable\"") }.count
        #expect(reused == savedReadable, "\(resumed.stderr)")
        let ids = GradeFixtures.lines(results).compactMap { line -> String? in
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (record?["result"] as? [String: Any])?["id"] as? String
        }
        #expect(Set(ids).count == 12, "\(ids)")
    }
}

extension GradeResilienceTests {
    /// A worker may take a second job while it grades one; when it leaves
    /// after a job (its memory grew: here after every job), the job waiting
    /// for it goes back to the pool, graded once by another worker.
    @Test func workersThatLeaveAfterEveryJobLoseNothing() throws {
        let scratch = try ScratchDirectory()
        try Self.makeClass(scratch, slow: 4)
        let reference = try grade(["--format", "json", "--results", "reference.jsonl"], in: scratch)
        let recycled = try KmlabProcess.run(["grade", "--lesson", "1", "class", "--format", "json", "--results", "recycled.jsonl",
                                             "--jobs", "2", "--worker-recycle-mib", "1"] + Self.common.filter { $0 != "--quiet" },
                                            currentDirectory: scratch.url)
        #expect(recycled.status == 0, "\(recycled.stderr)")
        #expect(recycled.stdout == reference.stdout)
        // Every submission graded exactly once.
        let lines = GradeFixtures.lines(scratch.url.appendingPathComponent("recycled.jsonl"))
        #expect(lines.count == GradeFixtures.lines(scratch.url.appendingPathComponent("reference.jsonl")).count)
    }
}
