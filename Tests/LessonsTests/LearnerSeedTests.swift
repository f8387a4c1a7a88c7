import Foundation
import Testing
@testable import Lessons

/// A learner's seed: drawn once, kept with their progress, and the variant
/// every learner command shows and grades; answers copied from another
/// learner lose the points of the questions that differ between them.
@Suite struct LearnerSeedTests {
    /// An answers file that answers every question of `lesson` (already a
    /// learner's variant) right, written from the lesson's own answer specs.
    static func rightAnswers(_ lesson: Lesson) -> String {
        var lines = ["answers = answers or {}"]
        for e in lesson.exercises {
            guard case .question(let spec) = e.kind else { continue }
            let value: String
            switch spec {
            case .choice(_, let correct):
                value = "\"" + correct.sorted().map(AnswerMatcher.letter).joined() + "\""
            case .numeric(let n, _, _):
                value = n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
            case .exact(let v, _):
                switch v {
                case .integer(let i): value = String(i)
                case .number(let d): value = String(d)
                case .boolean(let b): value = String(b)
                case .string(let bytes): value = String(reflecting: String(decoding: bytes, as: UTF8.self))
                default: continue
                }
            }
            lines.append("answers.\(e.id) = \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func questionScore(_ r: SubmissionResult, _ lesson: Lesson) -> Int {
        let questions = Set(lesson.exercises.filter { !$0.isTask }.map(\.id))
        return r.exercises.filter { questions.contains($0.id) }.reduce(0) { $0 + $1.score }
    }

    /// Alice's answers, copied by other learners: every question whose
    /// right answer differs between the two (a variant value or the option
    /// order) loses its points, and copying does not pay for every learner.
    /// (How often it pays depends on how many variants a question has:
    /// GuessingStrategyTests checks the spread of lesson 1's q1 and lesson
    /// 2's order.)
    @Test(arguments: ["01", "02", "03", "04", "06", "07", "10"])
    func copiedAnswersLoseTheVariantQuestionsUnderAnotherLearnersSeed(_ id: String) throws {
        let written = try LessonFixtures.catalog().lesson(id: id)
        let mine = try written.variant(seed: 0x5eed_a11ce)
        let full = mine.exercises.filter { !$0.isTask }.reduce(0) { $0 + $1.points }
        // Only the questions are graded here: the tasks are not answered.
        let text = Self.rightAnswers(mine)
        let source = Array(text.utf8)
        let own = Grader(lesson: mine).grade(source: source, submissionID: "alice.lua")
        #expect(Self.questionScore(own, mine) == full, "\(id): \(own.exercises.map { "\($0.id) \($0.feedback)" })")
        var copiedTotal = 0
        let others: [UInt64] = (1...8).map { 0x5eed_0000 + $0 * 7919 }
        for bob in others {
            let theirs = try written.variant(seed: bob)
            let copied = Grader(lesson: theirs).grade(source: source, submissionID: "alice.lua")
            copiedTotal += Self.questionScore(copied, theirs)
            let theirText = Self.rightAnswers(theirs).split(separator: "\n")
            for (line, their) in zip(text.split(separator: "\n"), theirText) where line != their {
                let q = String(line.dropFirst("answers.".count).prefix { $0 != " " })
                let r = try #require(copied.exercises.first { $0.id == q })
                #expect(r.score == 0, "\(id) \(q): alice's \(line) passed the learner with seed \(bob), whose answer is \(their)")
            }
        }
        #expect(copiedTotal < full * others.count, "\(id): copies scored \(copiedTotal) of \(full * others.count)")
    }

    @Test func differentSeedsShowDifferentVariantsAndOneSeedOneVariant() throws {
        let written = try LessonFixtures.catalog().lesson(id: "01")
        let a = try written.variant(seed: 11), again = try written.variant(seed: 11), b = try written.variant(seed: 12)
        #expect(a.exercises.map(\.prompt) == again.exercises.map(\.prompt))
        #expect(a.exercises.map(\.prompt) != b.exercises.map(\.prompt))
        #expect(LessonText.render(a, color: false) == LessonText.render(again, color: false))
        #expect(AnswerTemplate.text(for: a) == AnswerTemplate.text(for: again))
    }

    @Test func theSeedIsDrawnOnceAndKeptWithProgress() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = ProgressStore(url: dir.appendingPathComponent("progress.json"))
        let first = try LearnerSeed.current(store: store, environment: [:])
        #expect(first != 0)
        #expect(try LearnerSeed.current(store: store, environment: [:]) == first)
        #expect(store.load().learnerSeed == first)
        // Recording a check keeps it.
        store.update { $0.lessons["01"] = .init(bestScore: 1, maxScore: 2) }
        #expect(try LearnerSeed.current(store: store, environment: [:]) == first)
        // KMLAB_VARIANT_SEED pins another without touching the stored one.
        #expect(try LearnerSeed.current(store: store, environment: ["KMLAB_VARIANT_SEED": "0x10"]) == 16)
        #expect(try LearnerSeed.current(store: store, environment: ["KMLAB_VARIANT_SEED": "0"]) == 0)
        #expect(throws: LearnerSeedError.self) { try LearnerSeed.current(store: store, environment: ["KMLAB_VARIANT_SEED": "seven"]) }
        #expect(store.load().learnerSeed == first)
        // Another progress file, another learner.
        let other = ProgressStore(url: dir.appendingPathComponent("other.json"))
        #expect(try LearnerSeed.current(store: other, environment: [:]) != first)
    }

    @Test func progressKeepsAFullWidthSeedAndDropsAnUnreadableOne() {
        let p = ProgressRecord(lessons: ["01": .init(bestScore: 1, maxScore: 2)], learnerSeed: UInt64.max - 1)
        let (back, damaged) = ProgressRecord.decode(p.encoded())
        #expect(back == p)
        #expect(!damaged)
        let bad = ProgressRecord.decode(Data(#"{"learner_seed": 12, "lessons": {}}"#.utf8))
        #expect(bad.damaged)
        #expect(bad.record.learnerSeed == nil)
    }

    @Test func batchSeedsComeFromTheIdAndTheSecret() {
        let a = Grader.variantSeed(forSubmission: "alice/answers.lua", secret: 1)
        #expect(a == Grader.variantSeed(forSubmission: "alice/answers.lua", secret: 1))
        #expect(a != Grader.variantSeed(forSubmission: "bob/answers.lua", secret: 1))
        #expect(a != Grader.variantSeed(forSubmission: "alice/answers.lua", secret: 2))
        #expect(a != 0)
        #expect(Grader.configuredCaseSecret(environment: [:]) == Grader.defaultCaseSecret)
        #expect(Grader.configuredCaseSecret(environment: ["KMLAB_GRADER_SECRET": ""]) == Grader.defaultCaseSecret)
        let mine = Grader.configuredCaseSecret(environment: ["KMLAB_GRADER_SECRET": "course 2026"])
        #expect(mine != Grader.defaultCaseSecret)
        #expect(mine == Grader.configuredCaseSecret(environment: ["KMLAB_GRADER_SECRET": "course 2026"]))
    }
}
