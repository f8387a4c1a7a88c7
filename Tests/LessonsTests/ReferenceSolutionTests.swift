import Foundation
import Testing
@testable import Lessons

/// Every reference solution in lessons/solutions scores full marks, and
/// every wrong answers file in lessons/wrong scores what its header says,
/// with the feedback it names.
@Suite struct ReferenceSolutionTests {
    @Test(arguments: LessonFixtures.files(in: "solutions"))
    func referenceSolutionScoresFullMarks(_ file: URL) throws {
        let result = try LessonFixtures.grade(file)
        for e in result.exercises where e.status != .pass {
            Issue.record("\(file.lastPathComponent) \(e.id): \(e.status.rawValue): \(e.feedback)")
        }
        #expect(result.status == .graded)
        #expect(result.score == result.maxScore)
        #expect(result.maxScore > 0)
    }

    @Test(arguments: LessonFixtures.files(in: "wrong"))
    func wrongAnswersScoreWhatTheyDeclare(_ file: URL) throws {
        let expectation = WrongFileExpectation(try String(contentsOf: file, encoding: .utf8))
        let result = try LessonFixtures.grade(file)
        let summary = result.exercises.map { "\($0.id)=\($0.status.rawValue)(\($0.score)) \($0.feedback)" }.joined(separator: "\n")
        #expect(expectation.score != nil, "\(file.lastPathComponent) needs an `-- expect score: N` line")
        #expect(result.score == expectation.score, "\(file.lastPathComponent):\n\(summary)")
        #expect(result.score < result.maxScore)
        #expect(!expectation.exercises.isEmpty, "\(file.lastPathComponent) needs `-- expect <exercise>: <status> <feedback>` lines")
        for (id, status, feedback) in expectation.exercises {
            guard let e = result.exercises.first(where: { $0.id == id }) else {
                Issue.record("\(file.lastPathComponent): no exercise \(id)")
                continue
            }
            #expect(e.status.rawValue == status, "\(file.lastPathComponent) \(id): \(e.status.rawValue): \(e.feedback)")
            #expect(feedback.isEmpty || e.feedback.contains(feedback), "\(file.lastPathComponent) \(id) feedback: \(e.feedback)")
        }
    }

    @Test func gradingIsDeterministic() throws {
        for file in LessonFixtures.files(in: "solutions") + LessonFixtures.files(in: "wrong") {
            let a = try LessonFixtures.grade(file), b = try LessonFixtures.grade(file)
            #expect(a.json == b.json, "\(file.lastPathComponent)")
        }
    }
}
