import Foundation
import Testing
@testable import Lessons

/// Lessons 6-11 draw their task cases (machine seeds, architectures, sizes,
/// the capstone's frames) from the learner's seed and the grader's secret.
/// The reference solution's tasks must pass for any learner, not only for
/// seed 0, the lesson as written. One seed per lesson keeps the suite fast;
/// the seeds differ from lesson to lesson.
@Suite struct LearnerCaseTests {
    static let cases: [(lesson: String, seed: UInt64)] = [
        ("06", 0x1f2e_3d4c), ("07", 7), ("08", 0xdead_beef), ("09", 42), ("10", 0x5eed), ("11", 0xc0ff_ee11),
    ]

    @Test(arguments: cases.indices) func referenceTasksPassForAnotherLearner(_ i: Int) throws {
        let (id, seed) = Self.cases[i]
        let lesson = try LessonFixtures.catalog().lesson(id: id)
        let file = try #require(LessonFixtures.files(in: "solutions").first { $0.lastPathComponent.hasPrefix(id + "-") })
        let source = [UInt8](try Data(contentsOf: file))
        let grader = Grader(lesson: lesson, caseSecret: seed &* 0x9e37_79b9_7f4a_7c15)
        let r = grader.grade(source: source, submissionID: file.lastPathComponent, variantSeed: seed)
        let tasks = lesson.exercises.filter(\.isTask).map(\.id)
        #expect(!tasks.isEmpty)
        for x in r.exercises where tasks.contains(x.id) {
            #expect(x.status == .pass, "lesson \(id), learner seed \(seed): \(x.id): \(x.feedback)")
        }
    }
}
