import Testing
@testable import Lessons

/// The autograders' learner ids, read from sample platform files as the
/// platforms write them (and as a hostile or broken file might be).
@Suite struct PlatformLearnerTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The shape of Gradescope's documented submission_metadata.json.
    static let gradescope = """
    {
      "id": 123456,
      "created_at": "2018-07-01T14:22:32.365935-07:00",
      "assignment": {"due_date": "2018-07-31T23:00:00.000000-07:00", "group_size": 4, "group_submission": true,
                     "id": 25828, "course_id": 1234, "late_due_date": null, "title": "Programming Assignment 1", "total_points": "20.0"},
      "submission_method": "upload",
      "users": [{"email": "student@example.com", "id": 1234, "name": "Student User"},
                {"email": "partner@example.com", "id": 5678, "name": "Partner"}],
      "previous_submissions": [{"submission_time": "2017-04-06T14:24:48.087023-07:00", "score": 0.0, "results": {}}]
    }
    """

    @Test func gradescopeUsesTheFirstUsersIdElseTheEmail() {
        #expect(PlatformLearner.gradescope(metadata: Self.bytes(Self.gradescope)).id == "gradescope-user:1234")
        #expect(PlatformLearner.gradescope(metadata: Self.bytes(#"{"users": [{"id": "u-77"}]}"#)).id == "gradescope-user:u-77")
        let email = PlatformLearner.gradescope(metadata: Self.bytes(#"{"users": [{"email": " Student@Example.com ", "id": null}]}"#))
        #expect(email.id == "gradescope-email:student@example.com")
        #expect(email.what.contains("email"))
    }

    @Test func gradescopeWithoutAUsableIdSaysWhy() {
        let cases: [(String?, String)] = [
            (nil, "no submission_metadata.json"),
            ("not json", "not the JSON object"),
            ("[1, 2]", "not the JSON object"),
            (#"{"users": []}"#, "names no user"),
            (#"{"id": 1}"#, "names no user"),
            (#"{"users": [{"id": true, "email": ""}]}"#, "no id or email"),
            (#"{"users": [{"id": 1.5}]}"#, "no id or email"),
            (#"{"users": [{"id": {"x": 1}}]}"#, "no id or email"),
            ("{\"users\": [{\"id\": \"" + String(repeating: "x", count: 400) + "\"}]}", "no id or email"),
        ]
        for (text, why) in cases {
            let found = PlatformLearner.gradescope(metadata: text.map(Self.bytes))
            #expect(found.id == nil, "\(text ?? "nil")")
            #expect(found.what.contains(why), "\(text ?? "nil"): \(found.what)")
        }
    }

    @Test func prairieLearnUsesTheVariantSeed() {
        let data = #"{"params": {"n": 3}, "correct_answers": {}, "submitted_answers": {"_files": []}, "format_errors": {}, "partial_scores": {}, "score": 0, "feedback": {}, "variant_seed": 1827364, "options": {}, "raw_submitted_answers": {}, "gradable": true}"#
        #expect(PlatformLearner.prairieLearn(data: Self.bytes(data)).id == "prairielearn-variant:1827364")
        #expect(PlatformLearner.prairieLearn(data: Self.bytes(#"{"variant_seed": "x9k2"}"#)).id == "prairielearn-variant:x9k2")
        #expect(PlatformLearner.prairieLearn(data: Self.bytes(#"{"params": {}}"#)).what.contains("no variant_seed"))
        #expect(PlatformLearner.prairieLearn(data: nil).id == nil)
        #expect(PlatformLearner.prairieLearn(data: Self.bytes("{")).id == nil)
    }

    /// Two students get two seeds, one student the same seed every time,
    /// and the secret changes them all.
    @Test func theSeedFollowsTheIdAndTheSecret() throws {
        let a = try #require(PlatformLearner.gradescope(metadata: Self.bytes(#"{"users": [{"id": 1}]}"#)).id)
        let b = try #require(PlatformLearner.gradescope(metadata: Self.bytes(#"{"users": [{"id": 2}]}"#)).id)
        #expect(Grader.variantSeed(forSubmission: a, secret: 9) == Grader.variantSeed(forSubmission: a, secret: 9))
        #expect(Grader.variantSeed(forSubmission: a, secret: 9) != Grader.variantSeed(forSubmission: b, secret: 9))
        #expect(Grader.variantSeed(forSubmission: a, secret: 9) != Grader.variantSeed(forSubmission: a, secret: 10))
        #expect(Grader.variantSeed(forSubmission: a, secret: 9) != 0)
    }
}
