import Testing
@testable import Lessons

/// No strategy that ignores the question beats chance. Options are
/// shuffled per learner (uniformly: see GradingFrameworkTests), so a fixed
/// letter or a random letter earns each single-answer choice's points once
/// in k options on average; picking the longest option does not depend on
/// the order, so the texts themselves must not give the answer away.
@Suite struct GuessingStrategyTests {
    struct Odds {
        var points = 0.0
        var fixedLetter = 0.0
        var longest = 0.0
    }

    static func odds(_ lesson: Lesson) -> Odds {
        var o = Odds()
        for e in lesson.exercises {
            o.points += Double(e.points)
            guard case .question(.choice(let options, let correct)) = e.kind, correct.count == 1,
                  let right = correct.first else { continue }
            o.fixedLetter += Double(e.points) / Double(options.count)
            let longest = options.map(\.count).max() ?? 0
            let tied = options.indices.filter { options[$0].count == longest }
            // Ties broken at random: the right one among them wins its share.
            if tied.contains(right) { o.longest += Double(e.points) / Double(tied.count) }
        }
        return o
    }

    /// Lessons whose choice texts are still being rewritten (their right
    /// option is often the longest): reported, not yet failing the suite.
    static let textsBeingRewritten: Set<Int> = []

    @Test func guessingEarnsAtMostATenthOfEveryLesson() throws {
        for lesson in try LessonFixtures.catalog().lessons {
            let o = Self.odds(lesson)
            let check = {
                // A fixed letter, and a file of random letters, earn the same on average.
                #expect(o.fixedLetter <= 0.1 * o.points + 0.5,
                        "\(lesson.id): always the same letter earns \(o.fixedLetter) of \(o.points) points on average")
                #expect(o.longest <= max(o.fixedLetter, 0.1 * o.points),
                        "\(lesson.id): always the longest option earns \(o.longest) of \(o.points) points")
            }
            if Self.textsBeingRewritten.contains(lesson.number ?? 0) {
                withKnownIssue("choice texts still being rewritten", isIntermittent: true) { check() }
            } else {
                check()
            }
        }
    }

    /// The right answers of a lesson's numeric questions over `seeds`
    /// learners: per question id, how often each answer is the right one.
    static func numericAnswers(_ lesson: Lesson, seeds: ClosedRange<UInt64>) throws -> [String: [Double: Int]] {
        var counts: [String: [Double: Int]] = [:]
        for seed in seeds {
            for e in try lesson.variant(seed: seed).exercises {
                guard case .question(.numeric(let value, _, _)) = e.kind else { continue }
                counts[e.id, default: [:]][value, default: 0] += 1
            }
        }
        return counts
    }

    static let sampleSeeds: ClosedRange<UInt64> = 1...40

    /// A number per learner is guessed no better than a letter: the best
    /// fixed answer to each question that varies (the most frequent right
    /// answer over 40 learners) plus a fixed letter for every choice earns
    /// at most a tenth of the lesson. A question with one answer for every
    /// learner is not counted here: it can be copied, not guessed.
    @Test func theBestFixedNumberEarnsAtMostATenthOfEveryLesson() throws {
        for lesson in try LessonFixtures.catalog().lessons {
            var o = Self.odds(lesson)
            let counts = try Self.numericAnswers(lesson, seeds: Self.sampleSeeds)
            for e in lesson.exercises {
                guard let answers = counts[e.id], answers.count > 1, let top = answers.values.max() else { continue }
                o.fixedLetter += Double(e.points) * Double(top) / Double(Self.sampleSeeds.count)
            }
            #expect(o.fixedLetter <= 0.1 * o.points + 0.5,
                    "\(lesson.id): the most frequent number and a fixed letter earn \(o.fixedLetter) of \(o.points) points on average")
        }
    }

    /// The two questions whose answers used to take two values (lesson 1's
    /// q1: 96 or 192) or crowd on one (lesson 2's order: 10 for half the
    /// class): the most frequent right answer is that of few learners, and
    /// two learners rarely share one (copying fails).
    @Test(arguments: [("01-first-allocations", "q1"), ("02-limits", "order")])
    func answersAreSpreadOverTheClass(lessonID: String, question: String) throws {
        let lesson = try #require(LessonFixtures.catalog().lessons.first { $0.id == lessonID })
        let answers = try #require(Self.numericAnswers(lesson, seeds: Self.sampleSeeds)[question])
        let n = Double(Self.sampleSeeds.count)
        let top = Double(answers.values.max() ?? 0) / n
        let collision = answers.values.reduce(0.0) { $0 + (Double($1) / n) * (Double($1) / n) }
        #expect(answers.count >= 8, "\(lessonID) \(question): only \(answers.count) different right answers over 40 learners")
        #expect(top <= 0.2, "\(lessonID) \(question): the most frequent right answer is that of \(Int(top * 100))% of learners")
        #expect(collision <= 0.15, "\(lessonID) \(question): two learners share the right answer \(Int(collision * 100))% of the time")
    }

    @Test func theLongestOptionIsNotTheRightOneAcrossTheCourse() throws {
        var single = 0, longest = 0
        for lesson in try LessonFixtures.catalog().lessons where !Self.textsBeingRewritten.contains(lesson.number ?? 0) {
            for e in lesson.exercises {
                guard case .question(.choice(let options, let correct)) = e.kind, correct.count == 1, let right = correct.first else { continue }
                single += 1
                if options[right].count == options.map(\.count).max() { longest += 1 }
            }
        }
        // About one in four by chance; today's texts must not do better.
        #expect(Double(longest) <= Double(single) / 3, "the right option is the longest in \(longest) of \(single) questions")
    }
}
