import Foundation
import Testing
@testable import Lessons

/// The grading vocabulary that makes a pass mean something: many cases per
/// task (each on its own machine, failures naming the case), per-learner
/// variants and option order, per-allocation leak records, hints chosen by
/// the failure.
@Suite struct GradingFrameworkTests {
    static let lessonSource = """
    local SIZES = { 8, 16, 32, 64, 96, 128, 192, 256 }
    return lesson{
      id = "90-framework", title = "framework",
      exercises = {
        question{
          id = "q1", points = 1,
          variant = function(rng) return { n = rng:int(1, 1000) } end,
          prompt = function(v) return "What is " .. v.n .. " + 1?" end,
          answer = function(v) return numeric(v.n + 1) end,
          feedback = function(v) return { [v.n] = "one more than that" } end,
        },
        question{
          id = "q2", points = 1,
          prompt = "Pick the right one",
          answer = choice{ "right", "wrong one", "wrong two", "wrong three", correct = 1 },
          feedback = { b = "not wrong one", c = "not wrong two" },
        },
        task{
          id = "size", points = 1, expects = "size_class", template = "n",
          cases = function(rng)
            local list = {}
            for i = 1, 6 do
              list[i] = { args = { rng:int(1, 256) }, boot = { era = i % 2 == 0 and "2.6" or "6.x" } }
            end
            list[7] = { args = { 200 }, label = "the big one" }
            return list
          end,
          check = function(r)
            local n = r.args[1]
            local want
            for _, s in ipairs(SIZES) do if s >= n then want = s break end end
            if r.returned ~= want then return fail("got " .. tostring(r.returned), { hint = "rounding" }) end
            if #r.allocated > 0 then return fail("left " .. #r.allocated .. " allocation(s)", { hint = "leak" }) end
            if #r.freed_foreign > 0 then return fail("freed the grader's objects") end
            return pass()
          end,
          hints = { "general hint", rounding = { "rounding hint 1", "rounding hint 2" }, leak = "free it" },
          explain = "ksize() reports the object's real size.",
        },
        task{
          id = "keep", points = 1, expects = "keep",
          setup = function() return kmalloc(32, GFP_KERNEL) end,
          check = function(r)
            if #r.freed_foreign > 0 then return fail("you freed an object you do not own") end
            if #r.allocated ~= 1 then return fail("keep one new allocation, got " .. #r.allocated) end
            return pass()
          end,
        },
      },
    }
    """

    static func lesson(seed: UInt64 = 0) throws -> Lesson {
        let base = try LessonCatalog(files: [("90-framework.lua", Array(lessonSource.utf8))], origin: "test").lesson(id: "90")
        return try base.variant(seed: seed)
    }

    static func grade(_ answers: String, seed: UInt64 = 0, secret: UInt64 = Grader.defaultCaseSecret) throws -> SubmissionResult {
        Grader(lesson: try lesson(), caseSecret: secret).grade(source: Array(answers.utf8), submissionID: "answers.lua", variantSeed: seed)
    }

    static let right = """
    function size_class(n) local p = kmalloc(n, GFP_KERNEL); local s = ksize(p); kfree(p); return s end
    function keep(p) return kmalloc(16, GFP_KERNEL) end
    """

    @Test func variantsDifferBetweenLearnersAndGradingUsesTheLearnersOwn() throws {
        var prompts = Set<String>()
        for seed: UInt64 in 1...12 {
            let l = try Self.lesson(seed: seed)
            let prompt = l.exercises[0].prompt
            prompts.insert(prompt)
            guard let n = Int(prompt.split(separator: " ")[2]) else { Issue.record("prompt \(prompt)"); continue }
            let r = try Self.grade("answers = answers or {}; answers.q1 = \(n + 1)", seed: seed)
            #expect(r.exercises[0].status == .pass, "seed \(seed): \(r.json)")
            let wrong = try Self.grade("answers = answers or {}; answers.q1 = \(n)", seed: seed)
            #expect(wrong.exercises[0].feedback == "one more than that", "seed \(seed): \(wrong.json)")
            // Same seed, same lesson.
            #expect(try Self.lesson(seed: seed).exercises[0].prompt == prompt)
        }
        #expect(prompts.count >= 8)
    }

    @Test func choicesAreShuffledPerLearnerAndFeedbackFollowsItsOption() throws {
        var positions = Set<Int>()
        for seed: UInt64 in 1...40 {
            let l = try Self.lesson(seed: seed)
            guard case .choice(let options, let correct)? = l.exercises.dropFirst().first.map({ e -> AnswerSpec? in
                if case .question(let s) = e.kind { return s } else { return nil } }) ?? nil else {
                Issue.record("q2 is not a choice"); continue
            }
            #expect(Set(options) == ["right", "wrong one", "wrong two", "wrong three"])
            guard let right = options.firstIndex(of: "right"), let one = options.firstIndex(of: "wrong one") else { continue }
            #expect(correct == [right])
            positions.insert(right)
            let letter = AnswerMatcher.letter(right), oneLetter = AnswerMatcher.letter(one)
            let r = try Self.grade("answers = answers or {}; answers.q2 = '\(letter)'", seed: seed)
            #expect(r.exercises[1].status == .pass, "seed \(seed): \(r.json)")
            let w = try Self.grade("answers = answers or {}; answers.q2 = '\(oneLetter)'", seed: seed)
            #expect(w.exercises[1].feedback == "not wrong one", "seed \(seed): \(w.json)")
        }
        #expect(positions.count == 4)
        // Seed 0 is the lesson as written.
        if case .question(.choice(let options, let correct)) = try Self.lesson().exercises[1].kind {
            #expect(options.first == "right" && correct == [0])
        }
    }

    @Test func everyCaseMustPassAndTheFailingCaseIsNamed() throws {
        let r = try Self.grade(Self.right)
        #expect(r.exercises[2].status == .pass, "\(r.json)")
        #expect(r.exercises[3].status == .pass, "\(r.json)")
        // A lookup table of the one size lesson authors like to ask.
        let table = try Self.grade("function size_class(n) return 256 end")
        #expect(table.exercises[2].status == .fail)
        #expect(table.exercises[2].feedback.hasPrefix("with size_class("), "\(table.json)")
        #expect(table.exercises[2].hint == "rounding")
        // Right except for the last case, which has a label.
        let almost = try Self.grade("function size_class(n) if n == 200 then return 200 end local p = kmalloc(n, GFP_KERNEL); local s = ksize(p); kfree(p); return s end")
        #expect(almost.exercises[2].feedback.hasPrefix("with the big one: got 200"), "\(almost.json)")
    }

    @Test func casesDependOnTheSecretAndTheSeed() throws {
        func firstCase(_ seed: UInt64, _ secret: UInt64) throws -> String {
            try Self.grade("function size_class(n) return -1 end", seed: seed, secret: secret).exercises[2].feedback
        }
        #expect(try firstCase(1, 7) == firstCase(1, 7))
        let bySecret = Set(try (1...6).map { try firstCase(1, UInt64($0)) })
        let bySeed = Set(try (1...6).map { try firstCase(UInt64($0), 7) })
        #expect(bySecret.count >= 4 && bySeed.count >= 4, "\(bySecret) \(bySeed)")
    }

    @Test func leaksAreCountedPerAllocationNotNet() throws {
        // Frees the grader's object and leaks one of its own: net zero.
        let r = try Self.grade("""
        function size_class(n) local p = kmalloc(n, GFP_KERNEL); return ksize(p) end
        function keep(p) kfree(p); return kmalloc(16, GFP_KERNEL) end
        """)
        #expect(r.exercises[2].feedback.contains("left 1 allocation(s)"), "\(r.json)")
        #expect(r.exercises[2].hint == "leak")
        #expect(r.exercises[3].feedback.contains("freed an object you do not own"), "\(r.json)")
    }

    @Test func hintsFollowTheFailure() throws {
        let lesson = try Self.lesson()
        let rounding = try Self.grade("function size_class(n) return n end")
        let leak = try Self.grade("function size_class(n) local p = kmalloc(n, GFP_KERNEL); return ksize(p) end")
        for (result, want) in [(rounding, "rounding hint 1"), (leak, "free it")] {
            var record = ProgressRecord()
            let e = lesson.exercises[2]
            let r = result.exercises[2]
            let key = "\(r.id)#\(r.hint ?? "")"
            let n = record.takeHint(lesson: lesson.id, exercise: key, available: e.hints(for: r.hint).count)
            #expect(CheckReport.hintLines(e, number: n ?? 0, indent: "", tag: r.hint).first?.contains(want) == true)
        }
        #expect(lesson.exercises[2].explain == "ksize() reports the object's real size.")
        // The learner's check shows the failure's hint.
        let text = LearnerCheck.run(lesson: lesson, source: Array("function size_class(n) return n end".utf8),
                                    submissionID: "a.lua", hint: true, store: nil).text
        #expect(text.contains("rounding hint 1"), "\(text)")
        #expect(!text.contains("general hint"), "\(text)")
    }
}
