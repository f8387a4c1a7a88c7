import Foundation
import KernelSim
import Testing
@testable import Lessons
import SeededRandom

/// The lesson schema is strict (unknown keys, report kinds, exercise count,
/// partial() range) and a catalog loads lessons one by one.
@Suite struct LessonSchemaTests {
    /// A well-formed lesson with `extra` spliced into its first task and
    /// `count` exercises in all.
    static func source(id: String = "01-t", task extra: String = "", lesson lessonExtra: String = "", count: Int = 3,
                       check: String = "function(r) return pass() end") -> String {
        var exercises = ["task{ id = 'f', points = 3, expects = 'f', prompt = 'p', hints = { 'h' }, check = \(check), \(extra) }"]
        for i in 1..<count { exercises.append("question{ id = 'q\(i)', points = 1, prompt = 'p', answer = \(i), hints = { 'h' } }") }
        return "return lesson{ id = '\(id)', title = 't', text = 'x', \(lessonExtra) exercises = { \(exercises.joined(separator: ", ")) } }"
    }

    static func catalog(_ files: [(String, String)]) -> LessonCatalog {
        LessonCatalog(files: files.map { ($0.0, Array($0.1.utf8)) }, origin: "test")
    }

    static func problem(_ source: String) -> String {
        catalog([("01-t.lua", source)]).problems.first?.message ?? "(loaded)"
    }

    @Test func aMisspeltKeyIsAnErrorThatNamesTheKnownOne() {
        let m = Self.problem(Self.source(task: "contxt = 'hardirq'"))
        #expect(m.contains("unknown key 'contxt'") && m.contains("did you mean 'context'?"), "\(m)")
        #expect(Self.problem(Self.source(lesson: "titel = 'x',")).contains("did you mean 'title'?"))
        #expect(Self.problem(Self.source(task: "zzzzzz = 1")).contains("known: "))
        // The second wave's names are part of the vocabulary.
        #expect(Self.problem(Self.source(task: "cases = {}, explain = 'why', variant = {}")) == "(loaded)")
        // Variants are per exercise: a lesson-level `variant` would do nothing, so it is refused.
        #expect(Self.problem(Self.source(lesson: "variant = function() end,")).contains("unknown key 'variant'"))
    }

    @Test func aVariantTableIsTheSameValueForEveryLearner() throws {
        let question = "question{ id = 'q9', points = 1, variant = { n = 5 }, prompt = function(v) return 'n = ' .. v.n end, answer = function(v) return v.n * 2 end }"
        let source = Self.source(count: 3).replacingOccurrences(of: "exercises = { ", with: "exercises = { \(question), ")
        let lesson = try Self.catalog([("01-t.lua", source)]).lesson(id: "01")
        for seed: UInt64 in [0, 1, 99] {
            let v = try lesson.variant(seed: seed)
            let q = try #require(v.exercises.first { $0.id == "q9" })
            #expect(q.prompt == "n = 5")
            let r = Grader(lesson: v).grade(source: Array("answers = { q9 = 10 }".utf8), submissionID: "a.lua")
            #expect(r.exercises.first { $0.id == "q9" }?.status == .pass)
        }
    }

    @Test func typosOfEveryKnownKeyAreCaught() {
        // Property: one character dropped from any known key (5+ letters) is
        // rejected with a suggestion at most one edit away from the typo.
        var rng = SplitMix64(state: 15)
        for key in LessonSchema.taskKeys.sorted() where key.count >= 5 {
            for _ in 0..<3 {
                var chars = Array(key)
                chars.remove(at: Int(rng.next() % UInt64(chars.count)))
                let typo = String(chars)
                guard !LessonSchema.taskKeys.contains(typo) else { continue }
                let suggestion = LessonSchema.closest(to: typo, in: LessonSchema.taskKeys)
                #expect(suggestion != nil, "\(typo)")
                #expect(editDistance(typo, suggestion ?? "") <= 1, "\(typo) -> \(suggestion ?? "nil")")
            }
        }
    }

    @Test func allowReportsNamesRealReportKinds() {
        let m = Self.problem(Self.source(task: "allow_reports = { 'allocation-failur' }"))
        #expect(m.contains("'allocation-failur', which is not a kernel report kind") && m.contains("did you mean 'allocation-failure'?"), "\(m)")
        for kind in KernelReport.Kind.allCases {
            #expect(Self.problem(Self.source(task: "allow_reports = { '\(kind.rawValue)' }")) == "(loaded)", "\(kind)")
        }
        #expect(Self.problem(Self.source(task: "allow_reports = 5")).contains("allow_reports must be"))
        #expect(Self.problem(Self.source(task: "allow_reports = true")) == "(loaded)")
    }

    @Test func theReportKindsAreDocumented() throws {
        // lessons/README.md lists what allow_reports accepts: every kind the kernel has.
        let readme = try String(contentsOf: LessonFixtures.lessonsDirectory.appendingPathComponent("README.md"), encoding: .utf8)
        for kind in LessonSchema.reportKinds { #expect(readme.contains("`\(kind)`"), "\(kind) is not in lessons/README.md") }
    }

    @Test func aLessonHasThreeToSixExercises() {
        for n in [1, 2, 7, 11] {
            #expect(Self.problem(Self.source(count: n)).contains("3 to 6 exercises; this one has \(n)"), "\(n)")
        }
        for n in 3...6 { #expect(Self.problem(Self.source(count: n)) == "(loaded)", "\(n)") }
    }

    @Test func partialOutsideThePointsIsTheLessonsError() throws {
        for (check, verdict) in [("function(r) return partial(2, 'half') end", Verdict.fail),
                                 ("function(r) return partial(3, 'all') end", .pass),
                                 ("function(r) return partial(4, 'too many') end", .graderError),
                                 ("function(r) return partial(-1, 'negative') end", .graderError),
                                 ("function(r) return partial(1.5, 'fraction') end", .graderError)] {
            let lesson = try Self.catalog([("01-t.lua", Self.source(check: check))]).lesson(id: "1")
            let r = Grader(lesson: lesson).grade(source: Array("function f() end".utf8), submissionID: "a.lua")
            let f = try #require(r.exercises.first)
            #expect(f.status == verdict, "\(check): \(f.feedback)")
            if verdict == .graderError { #expect(f.score == 0) }
        }
    }

    @Test func oneBrokenLessonLeavesTheOthersWorking() throws {
        let c = Self.catalog([("01-t.lua", Self.source()), ("02-b.lua", "return lesson{ id = "), ("03-c.lua", Self.source(id: "03-wrong-id"))])
        #expect(c.lessons.map(\.id) == ["01-t"])
        #expect(c.problems.map(\.file) == ["02-b.lua", "03-c.lua"])
        #expect(c.problems[1].message.contains("must match the file name"))
        let r = Grader(lesson: try c.lesson(id: "1")).grade(source: Array("answers.q1 = 1 answers.q2 = 2 function f() end".utf8), submissionID: "a")
        #expect(r.score == r.maxScore, "\(r.json)")
        #expect(throws: LessonError.self) { try c.lesson(id: "2") }
    }

    @Test func duplicateNumbersAndMisnamedFilesAreReported() throws {
        let c = Self.catalog([("01-t.lua", Self.source()), ("01-u.lua", Self.source(id: "01-u"))])
        #expect(c.lessons.count == 2)
        #expect(c.problems.count == 2 && c.problems.allSatisfy { $0.message.contains("lesson number 1 is used by 01-t.lua and 01-u.lua") }, "\(c.problems)")
        #expect(throws: LessonError.self) { try c.lesson(id: "1") }
        #expect(try c.lesson(id: "01-u").id == "01-u")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(Self.source().utf8).write(to: dir.appendingPathComponent("01-t.lua"))
        for name in ["lesson2.lua", "02-.lua", "x-intro.lua"] { try Data("return 1".utf8).write(to: dir.appendingPathComponent(name)) }
        let d = try LessonCatalog(directory: dir)
        #expect(d.lessons.map(\.id) == ["01-t"])
        #expect(d.problems.map(\.file) == ["02-.lua", "lesson2.lua", "x-intro.lua"])
        #expect(d.problems.allSatisfy { $0.message.contains("not a lesson file name") })
    }
}

