import Foundation
import Testing
@testable import Lessons

/// Finding submissions: stable, unambiguous ids; links that leave the
/// tree; students and picked files; combining results files safely.
@Suite struct SubmissionFinderTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-find-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// A file whose name has raw bytes (not UTF-8).
    func writeRaw(_ directory: String, _ name: [UInt8], _ text: String) {
        let path = Array((dir.path + "/" + directory + "/").utf8) + name
        let fd = SubmissionFinder.withCPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test func idsAreTheSameWhicheverWayTheRootIsSpelled() throws {
        try write("subs/alice/answers.lua", "x = 1")
        try write("subs/bob.lua", "x = 2")
        // (Relative spellings, which need a current directory, are in the CLI tests.)
        let expected = ["subs/alice/answers.lua", "subs/bob.lua"]
        for root in [dir.path + "/subs", dir.path + "/subs/", dir.path + "/./subs", dir.path + "/subs/../subs", dir.path + "/subs/alice/.."] {
            #expect(try SubmissionFinder.find([root]).map(\.id) == expected, "\(root)")
        }
        // Two roots with the same name would give the same ids: a clear error.
        try write("other/subs/bob.lua", "x = 3")
        #expect(throws: BatchError.self) { try SubmissionFinder.find([dir.path + "/subs", dir.path + "/other/subs"]) }
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func namesThatAreNotUtf8GetDistinctEscapedIdsAndAreEachGradedOnce() throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("c"), withIntermediateDirectories: true)
        writeRaw("c", Array("a".utf8) + [0xFF] + Array(".lua".utf8), "q = 1")
        writeRaw("c", Array("a".utf8) + [0xFE] + Array(".lua".utf8), "q = 2")
        writeRaw("c", Array("a\\xff.lua".utf8), "q = 3")
        writeRaw("c", Array("a\n.lua".utf8), "q = 4")
        let refs = try SubmissionFinder.find([dir.path + "/c"])
        #expect(refs.map(\.id) == ["c/a\\\\xff.lua", "c/a\\n.lua", "c/a\\xfe.lua", "c/a\\xff.lua"])
        let sources = refs.map { ref -> String in
            if case .source(let b, _) = SubmissionFinder.read(ref).content { return String(decoding: b, as: UTF8.self) }
            return "unreadable"
        }
        #expect(sources == ["q = 3", "q = 4", "q = 2", "q = 1"])
        // Property: different byte strings never share an id.
        var seen: [String: [UInt8]] = [:]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let bytes: [UInt8] = (0..<Int.random(in: 0...6, using: &rng)).map { _ -> UInt8 in [0x5C, 0x78, 0x66, 0xFF, 0xC3, 0xA9, 0x0A, 0x41, 0xE4, 0x80][Int.random(in: 0..<10, using: &rng)] }
            let id = SubmissionFinder.id(bytes)
            if let other = seen[id] { #expect(other == bytes, "\(id)") } else { seen[id] = bytes }
            #expect(!id.unicodeScalars.contains(where: DisplayText.needsEscape))
        }
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func linksLeavingTheTreeAreUnreadableAndQuoteNothing() throws {
        try write("secret/key.txt", "-----BEGIN PRIVATE KEY----- hunter2")
        try write("class/real.lua", "answers = {}")
        symlink(dir.path + "/secret/key.txt", dir.path + "/class/evil.lua")
        symlink("../secret/key.txt", dir.path + "/class/relative-evil.lua")
        symlink("real.lua", dir.path + "/class/inside.lua")
        symlink("/etc/passwd", dir.path + "/class/passwd.lua")
        let refs = try SubmissionFinder.find([dir.path + "/class"])
        var byID: [String: Submission.Content] = [:]
        for r in refs { byID[r.id] = SubmissionFinder.read(r).content }
        #expect(byID["class/inside.lua"] == .source(Array("answers = {}".utf8), sha256: SHA256.hex(Array("answers = {}".utf8))))
        for evil in ["class/evil.lua", "class/relative-evil.lua", "class/passwd.lua"] {
            guard case .unreadable(let why)? = byID[evil] else { Issue.record("\(evil) was read"); continue }
            #expect(why.contains("leaves the submissions directory"))
            #expect(!why.contains("hunter2") && !why.contains("secret") && !why.contains("root:"))
        }
        // A file given by name: its tree is its directory.
        let single = try SubmissionFinder.find([dir.path + "/class/evil.lua"])
        #expect(single.map(\.id) == ["evil.lua"])
        if case .source = SubmissionFinder.read(single[0]).content { Issue.record("a link given by name escaped its directory") }
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func aByteOrderMarkIsSkippedAsLuaDoes() throws {
        try write("c/bom.lua", "\u{FEFF}answers = { q1 = 1 }")
        let ref = try SubmissionFinder.find([dir.path + "/c"])[0]
        guard case .source(let bytes, _) = SubmissionFinder.read(ref).content else { Issue.record("unreadable"); return }
        #expect(bytes == Array("answers = { q1 = 1 }".utf8))
        #expect(LuaSource.withoutByteOrderMark([0xEF, 0xBB]) == [0xEF, 0xBB])
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func studentIdsComeFromTheLayout() throws {
        #expect(StudentIDRule.dir.student(of: "alice/hw1/answers.lua") == "alice")
        #expect(StudentIDRule.dir.student(of: "bob.lua") == "bob")
        #expect(StudentIDRule.file.student(of: "x/carol.lua") == "carol")
        guard case .success(let r) = StudentIDRule.parse("regex:^([a-z]+)_[0-9]+") else { Issue.record("regex"); return }
        #expect(r.student(of: "dave_123_late.lua") == "dave")
        #expect(r.student(of: "NOPE.lua") == nil)
        guard case .success(let whole) = StudentIDRule.parse("regex:[0-9]+") else { Issue.record("regex"); return }
        #expect(whole.student(of: "s/u4711/answers.lua") == "4711")
        if case .success = StudentIDRule.parse("regex:(") { Issue.record("a bad regex was accepted") }
        if case .success = StudentIDRule.parse("folder") { Issue.record("an unknown rule was accepted") }
    }

    @Test func pickGradesOneFilePerStudentAndReportsStudentsWithout() throws {
        try write("subs/alice/answers.lua", "a")
        try write("subs/alice/old/answers.lua", "a-old")
        try write("subs/alice/helper.lua", "h")
        try write("subs/bob/answer.lua", "typo")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("subs/carol"), withIntermediateDirectories: true)
        let root = dir.path + "/subs"
        let refs = ClassLayout.assignStudents(try SubmissionFinder.find([root]), rule: .dir).refs
        let (picked, notes) = ClassLayout.pick(refs, pattern: "answers.lua", knownStudents: SubmissionFinder.studentDirectories(root))
        #expect(picked.map(\.id) == ["subs/alice/answers.lua", "subs/bob/answers.lua", "subs/carol/answers.lua"])
        #expect(picked.map(\.student) == ["alice", "bob", "carol"])
        #expect(picked[0].missing == nil)
        #expect(picked[1].missing?.contains("found: answer.lua") == true)
        #expect(picked[2].missing?.contains("no *.lua file at all") == true)
        #expect(notes == ["alice: graded subs/alice/answers.lua; left out subs/alice/old/answers.lua"])
        try? FileManager.default.removeItem(at: dir)
    }

    static func record(_ id: String, shard: String?, lesson: String = "01-first-allocations", options: String? = nil) -> GradeRecord {
        GradeRecord(kmlab: "9.9", lesson: lesson, lessonSHA256: "L", limits: "x", sha256: "h", ms: 1,
                    result: SubmissionResult(id: id, status: .graded, exercises: []), shard: shard, options: options)
    }

    static func header(_ shard: String?, lesson: String = "01-first-allocations", options: String? = nil) -> ResultsHeader {
        ResultsHeader(kmlab: "9.9", lesson: lesson, lessonSHA256: "L", limits: "x", shard: shard, options: options)
    }

    @Test func mergeWantsEveryShardOnceAndResumeTheSameRun() throws {
        let s1 = (path: "s1", headers: [Self.header("1/3")], records: [Self.record("a", shard: "1/3")])
        let s2 = (path: "s2", headers: [Self.header("2/3")], records: [Self.record("b", shard: "2/3")])
        let s3 = (path: "s3", headers: [Self.header("3/3")], records: [GradeRecord]())  // an empty shard
        #expect(try ResultsSet.merge([s1, s2, s3], allowPartial: false).records.count == 2)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try ResultsSet.merge([s1, s2], allowPartial: false) }.contains("missing shard 3/3 of 3"))
        #expect(try ResultsSet.merge([s1, s2], allowPartial: true).notes.first?.contains("missing shard 3/3") == true)
        #expect(message { _ = try ResultsSet.merge([s1, s1, s2, s3], allowPartial: true) }.contains("shard 1/3 is in both"))
        let other = (path: "o", headers: [Self.header("1/2")], records: [Self.record("c", shard: "1/2")])
        #expect(message { _ = try ResultsSet.merge([s1, s2, s3, other], allowPartial: true) }.contains("different ways"))
        let lesson2 = (path: "l2", headers: [Self.header("3/3", lesson: "02-x")], records: [GradeRecord]())
        #expect(message { _ = try ResultsSet.merge([s1, s2, lesson2], allowPartial: false) }.contains("cannot be merged"))
        let overlap = (path: "s3b", headers: [Self.header("3/3")], records: [Self.record("a", shard: "3/3")])
        #expect(message { _ = try ResultsSet.merge([s1, s2, overlap], allowPartial: false) }.contains("overlap"))
        // Unsharded files combine as before.
        let u1 = (path: "u1", headers: [Self.header(nil)], records: [Self.record("a", shard: nil)])
        let u2 = (path: "u2", headers: [Self.header(nil)], records: [Self.record("b", shard: nil)])
        #expect(try ResultsSet.merge([u1, u2], allowPartial: false).records.count == 2)
        #expect(message { _ = try ResultsSet.merge([u1, s1, s2, s3], allowPartial: false) }.contains("unsharded"))

        // --resume: the same run only.
        try ResultsSet.checkResumable(path: "r", headers: [Self.header(nil)], records: [Self.record("a", shard: nil)], current: Self.header(nil))
        #expect(message { try ResultsSet.checkResumable(path: "r", headers: [], records: [Self.record("a", shard: nil)], current: Self.header(nil, lesson: "02-x")) }
            .contains("holds results of lesson 01-first-allocations"))
        #expect(message { try ResultsSet.checkResumable(path: "r", headers: [Self.header(nil)], records: [], current: Self.header(nil, options: "--pick answers.lua")) } != "")
        #expect(message { try ResultsSet.checkResumable(path: "r", headers: [Self.header("1/2")], records: [], current: Self.header("2/2")) } != "")
    }

    /// The grader secret draws the cases and the learners' seeds: a resumed
    /// run keeps it, merged shards share it. Results files hold a
    /// fingerprint of it, never the secret.
    @Test func resumeAndMergeKeepOneGraderSecret() throws {
        let one = Grader.secretFingerprint(Grader.configuredCaseSecret(environment: ["KMLAB_GRADER_SECRET": "staff only"]))
        let two = Grader.secretFingerprint(Grader.defaultCaseSecret)
        #expect(one != two && one.count == 16 && !one.contains("staff"))
        #expect(one == Grader.secretFingerprint(Grader.configuredCaseSecret(environment: ["KMLAB_GRADER_SECRET": "staff only"])))
        func header(_ secret: String?, shard: String? = nil) -> ResultsHeader {
            ResultsHeader(kmlab: "9.9", lesson: "01-first-allocations", lessonSHA256: "L", limits: "x", shard: shard, options: nil, secret: secret)
        }
        func record(_ id: String, _ secret: String?, shard: String? = nil) -> GradeRecord {
            GradeRecord(kmlab: "9.9", lesson: "01-first-allocations", lessonSHA256: "L", limits: "x", sha256: "h", ms: 1,
                        result: SubmissionResult(id: id, status: .graded, exercises: []), shard: shard, secretFingerprint: secret)
        }
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        try ResultsSet.checkResumable(path: "r", headers: [header(one)], records: [record("a", one)], current: header(one))
        let other = message { try ResultsSet.checkResumable(path: "r", headers: [header(one)], records: [record("a", one)], current: header(two)) }
        #expect(other.contains("was graded with the grader secret with fingerprint \(one)"), "\(other)")
        #expect(other.contains("this run's KMLAB_GRADER_SECRET has fingerprint \(two)"), "\(other)")
        let older = message { try ResultsSet.checkResumable(path: "r", headers: [header(nil)], records: [], current: header(one)) }
        #expect(older.contains("no recorded grader secret"), "\(older)")
        // A record line carries the fingerprint, and reads back with it.
        let line = record("a", one).line
        #expect(line.contains("\"secret_fingerprint\":\"\(one)\""))
        #expect(header(one).line.contains("\"secret_fingerprint\":\"\(one)\""))
        let s1 = (path: "s1", headers: [header(one, shard: "1/2")], records: [record("a", one, shard: "1/2")])
        let s2 = (path: "s2", headers: [header(two, shard: "2/2")], records: [record("b", two, shard: "2/2")])
        #expect(message { _ = try ResultsSet.merge([s1, s2], allowPartial: false) }.contains("grader secret"))
    }

    @Test func theResultsFileStartsWithItsHeader() throws {
        let path = dir.path + "/r.jsonl"
        do {
            let f = try ResultsFile(path: path, resuming: false, header: Self.header("2/3", options: "--pick answers.lua"))
            try f.append(Self.record("a", shard: "2/3", options: "--pick answers.lua"))
        }
        do { _ = try ResultsFile(path: path, resuming: true, header: Self.header("2/3")) }  // no second header
        let c = try ResultsFile.contents(path)
        #expect(c.headers == [Self.header("2/3", options: "--pick answers.lua")])
        #expect(c.records.map(\.result.id) == ["a"] && c.records[0].shard == "2/3" && c.records[0].options == "--pick answers.lua")
        #expect(c.skipped == 0)
        try? FileManager.default.removeItem(at: dir)
    }
}
