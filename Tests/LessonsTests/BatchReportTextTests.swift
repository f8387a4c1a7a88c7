import Foundation
import Testing
@testable import Lessons

/// What the batch reports make of names and messages a submission
/// controls: escaped controls, aligned wide characters, neutralised CSV
/// formulas, partial credit, --fail-under and what --resume keeps.
@Suite struct BatchReportTextTests {
    static func record(_ id: String, scores: [Int], feedback: String = "wrong", student: String? = nil) -> GradeRecord {
        let rows = scores.enumerated().map { i, s in
            ExerciseResult(id: "e\(i)", status: s == 4 ? .pass : .fail, score: s, maxScore: 4, feedback: feedback)
        }
        return GradeRecord(kmlab: "9.9", lesson: "01-first-allocations", lessonSHA256: "L", limits: "x", sha256: "h-" + id,
                           ms: 1, result: SubmissionResult(id: id, status: .graded, exercises: rows), student: student)
    }

    @Test func controlCharactersAreEscapedAndOtherTextKept() {
        #expect(DisplayText.escape("a\nb\tc\r") == "a\\nb\\tc\\r")
        #expect(DisplayText.escape("\u{1B}[2J\u{7}") == "\\x1b[2J\\x07")
        #expect(DisplayText.escape("\u{9B}31m \u{202E}gpj.lua") == "\\u{9b}31m \\u{202e}gpj.lua")
        #expect(DisplayText.escape("José 王小明 e\u{301}") == "José 王小明 e\u{301}")
        // Property: the escaped form has no control character left, whatever the input.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0...12, using: &rng)).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0...0x2100, using: &rng)) }
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars)
            #expect(!DisplayText.escape(s).unicodeScalars.contains(where: DisplayText.needsEscape), "\(Array(s.unicodeScalars))")
        }
    }

    @Test func widthsCountTerminalColumns() {
        #expect(DisplayText.width("abc") == 3)
        #expect(DisplayText.width("王小明") == 6)
        #expect(DisplayText.width("e\u{301}") == 1)
        #expect(DisplayText.width("ｆｕｌｌ") == 8)
        #expect(DisplayText.width("🙂") == 2)
        for s in ["José", "王小明/answers.lua", "e\u{301}e\u{301}.lua", "plain.lua"] {
            #expect(DisplayText.width(DisplayText.pad(s, 24)) == 24)
            #expect(DisplayText.width(DisplayText.clipLeft(s + s + s, 12)) <= 12)
        }
    }

    @Test func theTextTableIsAlignedAndCannotBeForgedByNames() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let records = [
            Self.record("class/王小明.lua", scores: [4, 0]),
            Self.record("class/José.lua", scores: [4, 4]),
            Self.record("class/fake\n  class/admin.lua  12/12  graded\u{1B}[2J.lua", scores: [0, 0], feedback: "boom\u{1B}]0;pwned\u{7}\nsecond line"),
        ]
        let text = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: false).render(.text)
        #expect(!text.contains("\u{1B}") && !text.contains("\u{7}"))
        #expect(text.contains("class/fake\\n  class/admin.lua"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("  class/admin.lua") })
        // The score column starts at the same terminal column in every row.
        let rows = text.split(separator: "\n").filter { $0.contains("/8 ") || $0.hasSuffix("graded") }.map(String.init)
        let columns = rows.compactMap { row -> Int? in
            guard let r = row.range(of: #"\d+/8"#, options: .regularExpression) else { return nil }
            return DisplayText.width(String(row[..<r.lowerBound]))
        }
        #expect(columns.count == 3 && Set(columns).count == 1, "\(rows)")
    }

    @Test func csvCellsThatWouldBeFormulasAreNeutralised() {
        #expect(CSVReport.cell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSVReport.cell("+1") == "'+1")
        #expect(CSVReport.cell("-2+3") == "'-2+3")
        #expect(CSVReport.cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSVReport.cell("\tx") == "'\tx")
        #expect(CSVReport.cell("\rx") == "\"'\rx\"")
        #expect(CSVReport.cell("alice/answers.lua") == "alice/answers.lua")
        #expect(CSVReport.cell("12") == "12")
        // Property: no cell, unquoted, starts with a formula character.
        let starts: [Character] = ["=", "+", "-", "@", "\t", "\r", "a", "\"", ","]
        for a in starts { for b in starts {
            var cell = CSVReport.cell(String([a, b]) + "tail")
            if cell.hasPrefix("\"") { cell = String(cell.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") }
            #expect(!["=", "+", "-", "@", "\t", "\r"].contains(cell.first ?? " "), "\(cell)")
        } }
    }

    @Test func csvHasStudentStatusExerciseColumnsAndOptionalBomAndLmsHeaders() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let records = [Self.record("subs/=cmd.lua", scores: [4, 2], feedback: "-bad", student: "=cmd")]
        var report = BatchReport(lesson: lesson, toolVersion: "9.9", records: records, timings: false)
        let plain = report.render(.csv)
        let header = "student,submission,total,max,status," + lesson.exercises.map(\.id).joined(separator: ",") + ",feedback\r\n"
        #expect(plain.hasPrefix(header))
        #expect(plain.contains("\r\n'=cmd,subs/=cmd.lua,6,8,graded,"))
        #expect(!plain.hasPrefix("\u{FEFF}"))
        report.csvOptions = CSVOptions(style: .canvas, byteOrderMark: true)
        let canvas = report.render(.csv)
        #expect(canvas.hasPrefix("\u{FEFF}Student,ID,SIS User ID,SIS Login ID,Section,kmlab 01-first-allocations"))
        #expect(Array(canvas.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
        report.csvOptions = CSVOptions(style: .moodle)
        #expect(report.render(.csv).hasPrefix("Username,kmlab 01-first-allocations"))
        #expect(report.render(.csv).contains("\r\n'=cmd,6,"))
    }

    @Test func partialCreditIsShownAsPartial() throws {
        let lesson = try LessonFixtures.catalog().lesson(id: "1")
        let report = BatchReport(lesson: lesson, toolVersion: "9.9", records: [Self.record("a.lua", scores: [2, 0])], timings: false)
        #expect(report.results[0].exercises.map(\.status) == [.partial, .fail])
        #expect(report.render(.json).contains("\"status\":\"partial\",\"score\":2"))
        #expect(report.render(.junit).contains("type=\"partial\""))
    }

    @Test func failUnderTakesPointsOrPercentages() {
        let r = SubmissionResult(id: "a", status: .graded, exercises: [ExerciseResult(id: "q", status: .fail, score: 7, maxScore: 10, feedback: "")])
        #expect(FailUnder("80%")?.fails(r) == true)
        #expect(FailUnder("70%")?.fails(r) == false)
        #expect(FailUnder("7")?.fails(r) == false)
        #expect(FailUnder("7.5")?.fails(r) == true)
        #expect(FailUnder("0")?.fails(r) == false)
        for bad in ["", "x", "-1", "101%", "1e3", "%", ".", "nan", "inf", "1..2"] { #expect(FailUnder(bad) == nil, "\(bad)") }
        #expect(FailUnder("80%")?.description == "80%")
    }

    @Test func resumeKeepsResultsOfTheSubmissionButNotOfTheHost() {
        var r = Self.record("a.lua", scores: [4, 0])
        #expect(r.reusable)
        r.hostFailure = true
        #expect(!r.reusable)
        #expect(r.line.contains("\"host_failure\":true"))
        let decoded = try? JSONDecoder().decode(GradeRecord.self, from: Data(r.line.utf8))
        #expect(decoded == r)
        var crashed = Self.record("b.lua", scores: [4, 0])
        crashed.result.exercises[1].status = .graderError
        #expect(!crashed.reusable)
    }
}
