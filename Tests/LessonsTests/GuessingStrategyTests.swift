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
