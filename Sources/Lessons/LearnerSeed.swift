import Foundation

/// Which variant of the lessons a learner sees: the seed that picks their
/// question values, option order and task cases (`Lesson.variant(seed:)`).
///
/// A learner's seed is drawn once, the first time a command needs it, and
/// kept in their progress file, so `kmlab lesson N`, `kmlab check`, `kmlab
/// watch` and the REPL always show and grade the same variant for them and
/// two learners see different ones. `KMLAB_VARIANT_SEED` pins it instead
/// (an instructor handing a student the seed their submission is graded
/// with; course authors and tests: 0 is the lesson as written).
public enum LearnerSeed {
    /// The environment variable that pins the seed for every command.
    public static let environmentKey = "KMLAB_VARIANT_SEED"

    /// A seed as a user writes it: decimal or 0x-prefixed hexadecimal.
    public static func parse(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
        return UInt64(t)
    }

    /// The seed in force: `KMLAB_VARIANT_SEED` when set, else the one kept
    /// in `store` (drawn and saved now if there is none yet). Throws when
    /// `KMLAB_VARIANT_SEED` is not a number.
    public static func current(store: ProgressStore,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> UInt64 {
        if let pinned = environment[environmentKey] {
            guard let seed = parse(pinned) else {
                throw LearnerSeedError(message: "\(environmentKey) must be a number (decimal or 0x...), got '\(pinned)'")
            }
            return seed
        }
        return stored(in: store)
    }

    /// The seed kept in `store`, drawn at random and saved when missing.
    /// Where the progress file cannot be written, the seed is derived from
    /// its path instead, so that the learner still sees one variant every time.
    static func stored(in store: ProgressStore) -> UInt64 {
        let record = store.load()
        if let seed = record.learnerSeed { return seed }
        var drawn = record
        drawn.learnerSeed = UInt64.random(in: 1...UInt64.max)
        do {
            try store.save(drawn)
        } catch {
            return Grader.fnv1a(Array(store.url.path.utf8))
        }
        // Another kmlab may have drawn one at the same moment: read back
        // whichever was written last, so both go on with the same seed.
        return store.load().learnerSeed ?? drawn.learnerSeed ?? 1
    }
}

public struct LearnerSeedError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
