import Foundation
import Testing
@testable import Lessons

/// The duplicates section (identical and near-identical files) and the
/// per-student feedback files.
@Suite struct DuplicatesAndFeedbackTests {
    static let original = """
    -- my answers
    answers = { q1 = 128, q2 = "b" }
    function make_reply(n)
      local buf = kzalloc(n, GFP_KERNEL)
      if not buf then return nil end
      for i = 0, n - 1 do poke(buf + i, "x") end
      return buf
    end
    function free_reply(buf) kfree(buf) end
    """

    /// The same code: names changed, comments and layout changed.
    static let renamed = """
    answers = { q1 = 128, q2 = "b" }  -- copied
    function make_reply(size)
        local p = kzalloc(size, GFP_KERNEL)
        if not p then
            return nil
        end
        for j = 0, size - 1 do poke(p + j, "x") end
        return p
    end
    --[[ long
    comment ]] function free_reply(p) kfree(p) end
    """

    @Test func fingerprintsIgnoreNamesCommentsAndLayoutButNotLiterals() {
        let a = Fingerprint.of(Array(Self.original.utf8))
        #expect(a != nil)
        #expect(Fingerprint.of(Array(Self.renamed.utf8)) == a)
        #expect(Fingerprint.of(Array(Self.original.replacingOccurrences(of: "128", with: "256").utf8)) != a)
        #expect(Fingerprint.of(Array(Self.original.replacingOccurrences(of: "\"b\"", with: "[[b]]").utf8)) != a)
        #expect(Fingerprint.of(Array("answers = { q1 = 128 }".utf8)) == nil, "too short to mean anything")
        // Unterminated strings, comments and brackets end the scan; they do not trap.
        for tail in ["\"abc", "[==[ open", "--[[ open", "0x1p+", "'\\", "..."] {
            _ = Fingerprint.normalisedTokens(Array((Self.original + tail).utf8))
        }
    }

    @Test func duplicateGroupsAreIdenticalOrNearIdenticalAndDeterministic() {
        let fa = Fingerprint.of(Array(Self.original.utf8))
        let fb = Fingerprint.of(Array(Self.renamed.utf8))
        let ids = ["a.lua", "b.lua", "c.lua", "d.lua", "e.lua"]
        let sha = ["h1", "h1", "h2", "h3", "h4"]
        let prints: [String?] = [fa, fa, fb, "other", nil]
        let groups = DuplicateGroup.find(ids: ids, sha256: sha, fingerprints: prints)
        #expect(groups == [DuplicateGroup(kind: .identical, ids: ["a.lua", "b.lua"]),
                           DuplicateGroup(kind: .nearIdentical, ids: ["a.lua", "b.lua", "c.lua"])])
        #expect(DuplicateGroup.find(ids: ids.reversed(), sha256: sha.reversed(), fingerprints: prints.reversed()) == groups)
    }

    static func record(_ id: String, student: String?, fingerprint: String?, sha: String, report: String? = nil) -> GradeRecord {
        let rows = [ExerciseResult(id: "q1", status: report == nil ? .pass : .bug, score: report == nil ? 2 : 0, maxScore: 2,
                                   feedback: report == nil ? "" : "your code crashed the kernel", report: report)]
        return GradeRecord(kmlab: "9.9", lesson: "01-first-allocations", lessonSHA256: "L", limits: "x", sha256: sha, ms: 1,
                           result: SubmissionResult(id: id, status: .graded, exercises: rows), student: student, fingerprint: fingerprint)
    }

    @Test func reportsCarryDuplicatesAndFullKernelReports() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let bug = "BUG: KASAN: slab-out-of-bounds in make_reply\nWrite of size 1\n\u{1B}[31m"
        let records = [Self.record("s/a.lua", student: "alice", fingerprint: "F", sha: "1", report: bug),
                       Self.record("s/b.lua", student: "bob", fingerprint: "F", sha: "1")]
        let report = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: false)
        let json = try JSONSerialization.jsonObject(with: Data(report.render(.json).utf8)) as? [String: Any]
        let dups = json?["duplicates"] as? [[String: Any]]
        #expect(dups?.first?["kind"] as? String == "identical")
        #expect(dups?.first?["submissions"] as? [String] == ["s/a.lua", "s/b.lua"])
        let first = (json?["submissions"] as? [[String: Any]])?.first
        #expect(first?["student"] as? String == "alice")
        #expect(((first?["exercises"] as? [[String: Any]])?.first?["report"] as? String) == bug)
        #expect(report.render(.text).contains("identical: s/a.lua, s/b.lua"))
        // The record round-trips through a results file with its report and fingerprint.
        let decoded = try JSONDecoder().decode(GradeRecord.self, from: Data(records[0].line.utf8))
        #expect(decoded == records[0])

        let files = FeedbackFiles.render(report)
        #expect(files.map(\.name) == ["alice.txt", "bob.txt"])
        #expect(files[0].text.contains("BUG: KASAN: slab-out-of-bounds in make_reply"))
        #expect(!files[0].text.contains("\u{1B}"))
        let none = BatchReport(lesson: lesson, toolVersion: "9.9", records: [Self.record("x.lua", student: nil, fingerprint: nil, sha: "9")], timings: false)
        #expect((try JSONSerialization.jsonObject(with: Data(none.render(.json).utf8)) as? [String: Any])?["duplicates"] as? [Any] != nil)
    }

    @Test func feedbackFileNamesAreSafe() {
        #expect(FeedbackFiles.fileName("alice") == "alice")
        #expect(FeedbackFiles.fileName("../../etc/passwd") == "_._.._etc_passwd")
        #expect(FeedbackFiles.fileName("subs/José/answers.lua") == "subs_José_answers.lua")
        #expect(FeedbackFiles.fileName(".hidden") == "_hidden")
        #expect(FeedbackFiles.fileName("") == "_")
        #expect(FeedbackFiles.fileName("a\nb\u{1B}") == "a_b_")
        for s in ["..", "/", "a/../b", String(repeating: "x", count: 500)] {
            let name = FeedbackFiles.fileName(s)
            #expect(!name.contains("/") && !name.hasPrefix(".") && name.count <= 100)
        }
    }
}
