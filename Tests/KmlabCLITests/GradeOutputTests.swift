import Foundation
import Testing

/// Where `kmlab grade` writes and how it ends: special files as --out,
/// --fail-under, --resume after host failures, names that try to forge
/// output.
@Suite(.serialized) struct GradeOutputTests {
    static let common = ["--lesson", "1", "--jobs", "1"] + GradeFixtures.budgets

    func fileType(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    @Test func outDevNullIsWrittenInPlaceAndResultsStayOutOfDev() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", GradeFixtures.reference)
        let existedBefore = FileManager.default.fileExists(atPath: "/dev/kmlab-results.jsonl")
        let r = try KmlabProcess.run(["grade", "class", "--out", "/dev/null", "--quiet"] + Self.common, currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileType("/dev/null") == S_IFCHR)
        #expect(FileManager.default.fileExists(atPath: "/dev/kmlab-results.jsonl") == existedBefore)
        #expect(FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("kmlab-results.jsonl").path))
    }

    @Test func outAFifoIsWrittenInPlace() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", GradeFixtures.reference)
        let fifo = scratch.url.appendingPathComponent("report.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let reader = Thread { if let h = FileHandle(forReadingAtPath: fifo) { box.data = h.readDataToEndOfFile() } }
        reader.start()
        let r = try KmlabProcess.run(["grade", "class", "--out", fifo, "--format", "csv", "--quiet", "--results", "r.jsonl"] + Self.common,
                                     currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        while !reader.isFinished { usleep(1000) }
        #expect(String(decoding: box.data, as: UTF8.self).hasPrefix("student,submission,total,max,status,"))
        #expect(fileType(fifo) == S_IFIFO)
    }

    @Test func anOutThatCannotBeWrittenIsRefusedBeforeGrading() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", GradeFixtures.reference)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("adir"), withIntermediateDirectories: true)
        let dir = try KmlabProcess.run(["grade", "class", "--out", "adir"] + Self.common, currentDirectory: scratch.url)
        #expect(dir.status == 2)
        #expect(dir.stderr.contains("adir: it is a directory"), "\(dir.stderr)")
        let missing = try KmlabProcess.run(["grade", "class", "--out", "nowhere/report.txt"] + Self.common, currentDirectory: scratch.url)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("kmlab-results.jsonl").path), "graded anyway")
    }

    @Test func failUnderExitsWith3NamingTheSubmissionsBelow() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/good.lua", GradeFixtures.reference)
        try scratch.write("class/empty.lua", "")
        let strict = try KmlabProcess.run(["grade", "class", "--quiet", "--fail-under", "80%"] + Self.common, currentDirectory: scratch.url)
        #expect(strict.status == 3, "\(strict.stderr)")
        #expect(strict.stderr.contains("1 of 2 submissions scored below --fail-under 80%: class/empty.lua (0/"), "\(strict.stderr)")
        #expect(strict.stdout.contains("class/good.lua"), "the report is still written")
        let lenient = try KmlabProcess.run(["grade", "class/good.lua", "--quiet", "--fail-under", "12"] + Self.common, currentDirectory: scratch.url)
        #expect(lenient.status == 0, "\(lenient.stderr)")
        let bad = try KmlabProcess.run(["grade", "class", "--fail-under", "eighty"] + Self.common, currentDirectory: scratch.url)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--fail-under must be points"), "\(bad.stderr)")
    }

    @Test func resumeGradesHostFailuresAgainAndKeepsTheRest() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/a.lua", GradeFixtures.reference)
        try scratch.write("class/b-crash.lua", GradeFixtures.reference + "\n-- CRASH-THE-WORKER\n")
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_GRADE_TEST_CRASH"] = "CRASH-THE-WORKER"
        let first = try KmlabProcess.run(["grade", "class", "--quiet"] + Self.common, currentDirectory: scratch.url, environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        // Resumed without the crash switch: the crashed one is graded again and now passes.
        env["KMLAB_GRADE_TEST_CRASH"] = nil
        let resumed = try KmlabProcess.run(["grade", "class", "--resume", "--format", "json"] + Self.common, currentDirectory: scratch.url, environment: env)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("class/a.lua: 12/12 graded (saved result)"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("class/b-crash.lua: 12/12 graded\n"), "\(resumed.stderr)")
        #expect(try GradeFixtures.submissions(resumed.stdout)["class/b-crash.lua"]?["score"] as? Int == 12)
    }

    @Test func namesWithNewlinesAndEscapesCannotForgeRowsOrDriveTheTerminal() throws {
        let scratch = try ScratchDirectory()
        try scratch.write("class/x\n  class/admin.lua  12/12  graded\u{1B}[2J.lua", "error('\\27]0;pwned\\7 gotcha')")
        let r = try KmlabProcess.run(["grade", "class"] + Self.common, currentDirectory: scratch.url)
        #expect(r.status == 0, "\(r.stderr)")
        for out in [r.stdout, r.stderr] {
            #expect(!out.contains("\u{1B}") && !out.contains("\u{7}"), "\(out)")
            #expect(!out.split(separator: "\n").contains { $0.hasPrefix("  class/admin.lua") }, "\(out)")
        }
        #expect(r.stdout.contains("x\\n  class/admin.lua"))
    }
}
