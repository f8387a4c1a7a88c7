import Foundation

/// Whose upload an autograder run grades, as the platform tells it, so that
/// the upload is graded as that learner's variant: the learner seed comes
/// from a stable id and the grader secret (`Grader.variantSeed`), as `kmlab
/// grade` derives it from a submission id.
///
/// - Gradescope writes `/autograder/submission_metadata.json`; its `users`
///   list names the submitter (several for a group submission: the first
///   one's variant is the group's). The `id` is Gradescope's user id, stable
///   across submissions; `email` stands in when there is no id.
/// - PrairieLearn writes the question's `data` object to
///   `/grade/data/data.json`. It carries no user id; `variant_seed` is the
///   seed of the variant the student works on (with `"singleVariant": true`
///   one per student and question), stable across their submissions.
///
/// The file is the platform's, but read as untrusted input all the same: a
/// missing or malformed file, or one without an id, gives a `Found` with no
/// id and the reason, and the caller grades the lesson as written.
public enum PlatformLearner {
    public struct Found: Equatable, Sendable {
        /// The id the seed is derived from (`gradescope-user:1234`), or nil.
        public var id: String?
        /// What it is, for the note on the results (`your Gradescope user id`),
        /// or why there is none.
        public var what: String
    }

    /// Ids longer than this are not ids.
    static let maxIDLength = 320

    public static func gradescope(metadata bytes: [UInt8]?) -> Found {
        guard let bytes else { return Found(id: nil, what: "no submission_metadata.json") }
        guard let metadata = decode(GradescopeMetadata.self, bytes) else {
            return Found(id: nil, what: "submission_metadata.json is not the JSON object Gradescope writes")
        }
        guard let first = metadata.users?.first else { return Found(id: nil, what: "submission_metadata.json names no user") }
        if let id = first.id?.text { return Found(id: "gradescope-user:" + id, what: "your Gradescope user id") }
        if let email = first.email?.text { return Found(id: "gradescope-email:" + email.lowercased(), what: "your Gradescope email address") }
        return Found(id: nil, what: "submission_metadata.json gives the user no id or email")
    }

    public static func prairieLearn(data bytes: [UInt8]?) -> Found {
        guard let bytes else { return Found(id: nil, what: "no data.json") }
        guard let data = decode(PrairieLearnData.self, bytes) else {
            return Found(id: nil, what: "data.json is not the JSON object PrairieLearn writes")
        }
        if let seed = data.variant_seed?.text {
            return Found(id: "prairielearn-variant:" + seed, what: "your PrairieLearn question variant")
        }
        return Found(id: nil, what: "data.json has no variant_seed")
    }

    private struct GradescopeMetadata: Decodable {
        struct User: Decodable { var id: IDText?; var email: IDText? }
        var users: [User]?
    }

    private struct PrairieLearnData: Decodable {
        var variant_seed: IDText?
    }

    /// A string or an integer, as text; nil when empty, too long or
    /// anything else (a boolean, an object, a fraction).
    private struct IDText: Decodable {
        var text: String?
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            var s: String?
            if let i = try? c.decode(Int64.self) { s = String(i) }
            else if let t = try? c.decode(String.self) { s = t.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let v = s, !v.isEmpty, v.count <= PlatformLearner.maxIDLength { text = v }
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        guard bytes.count <= 16 << 20 else { return nil }
        return try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
