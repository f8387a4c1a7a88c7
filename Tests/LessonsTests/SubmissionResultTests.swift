import Foundation
import Testing
@testable import Lessons

@Suite struct SubmissionResultTests {
    let sample = SubmissionResult(id: "s/a\u{1}.lua", status: .graded, exercises: [
        ExerciseResult(id: "q1", status: .pass, score: 2, maxScore: 2, feedback: ""),
        ExerciseResult(id: "t", status: .bug, score: 0, maxScore: 3, feedback: "BUG: \"x\"\n\ttab", report: "full text"),
    ])

    @Test func handWrittenJSONIsValidAndMatchesCodable() throws {
        // The full kernel report travels with the result (worker to pool,
        // results file, JSON report): feedback files and resumed runs need it.
        let parsed = try JSONDecoder().decode(SubmissionResult.self, from: Data(sample.json.utf8))
        #expect(parsed == sample)
        #expect(parsed.score == 2 && parsed.maxScore == 5)
        #expect(sample.json.contains(#""id":"s/a\u0001.lua""#))
        #expect(sample.json.contains(#""feedback":"BUG: \"x\"\n\ttab""#))
        #expect(sample.json.contains(#""report":"full text"}"#))
        #expect(!sample.exercises[0].json.contains("report"))
    }

    @Test func codableUsesSnakeCaseKeys() throws {
        let data = try JSONEncoder().encode(sample)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["id", "score", "max_score", "status", "exercises"])
        let first = try #require((object["exercises"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["id", "status", "score", "max_score", "feedback"])
    }
}
