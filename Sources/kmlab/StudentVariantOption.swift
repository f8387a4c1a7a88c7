import ArgumentParser
import Foundation
import Lessons

/// `--variant-for ID` (kmlab lesson, check, solution): the variant a
/// student's submissions are graded as, ahead of grading. The seed comes
/// from the one derivation `kmlab grade` and `kmlab autograder run` use
/// (`Grader.variantSeed(forSubmission:secret:)` with the secret of
/// `KMLAB_GRADER_SECRET`), so an instructor sees exactly what the student
/// will be graded against, and can hand the student the seed.
struct StudentVariantOption: ParsableArguments {
    @Option(name: .customLong("variant-for"),
            help: ArgumentHelp("Show the variant of the student with this id, as `kmlab grade` and the autograders grade them (needs the course's KMLAB_GRADER_SECRET).",
                               discussion: "The id is what the grader derives the seed from: kmlab grade's submission id (the path as given), and for the autograders gradescope-user:USER_ID (gradescope-email:EMAIL, lower-case, when Gradescope gives no id) or prairielearn-variant:VARIANT_SEED.",
                               valueName: "id"))
    var variantFor: String?

    func validate() throws {
        if let variantFor, variantFor.isEmpty { throw ValidationError("--variant-for needs a student id, got an empty one") }
    }

    /// The learner seed `kmlab grade` derives for `id` under the secret of
    /// `environment`.
    static func seed(for id: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> UInt64 {
        Grader.variantSeed(forSubmission: id, secret: Grader.configuredCaseSecret(environment: environment))
    }

    /// The line that says whose variant this is and with which seed and
    /// secret (on stderr, so stdout stays the lesson or answers file): the
    /// secret's fingerprint is the one `kmlab grade` records, so the
    /// instructor can tell that both ran under the same secret.
    static func note(for id: String, seed: UInt64, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let secret = Grader.configuredCaseSecret(environment: environment)
        let which = (environment[Grader.secretEnvironmentKey] ?? "").isEmpty
            ? "the built-in grader secret: KMLAB_GRADER_SECRET is not set"
            : "KMLAB_GRADER_SECRET, fingerprint \(Grader.secretFingerprint(secret))"
        var line = "variant of student '\(id)': learner seed \(seed) (\(which))"
        if let pinned = environment[LearnerSeed.environmentKey] {
            line += "; note: \(LearnerSeed.environmentKey)=\(pinned) is set, and kmlab grade would grade every submission with that seed instead"
        }
        return line
    }

    /// The seed argument for `LessonCLI.learnerVariant`: the student's seed
    /// when `--variant-for` is given (after printing whose it is), else
    /// `variantSeed` as given. Both at once is a usage error.
    func resolvedSeed(variantSeed: String?) throws -> String? {
        guard let variantFor else { return variantSeed }
        if variantSeed != nil { throw ValidationError("--variant-for and --variant-seed both pick a variant: give one") }
        let seed = Self.seed(for: variantFor)
        Terminal.error(Self.note(for: variantFor, seed: seed))
        return String(seed)
    }
}
