import Foundation
import Testing

/// `kmlab verify` for a lesson author's own KMLAB_LESSONS directory: diff-like
/// output and the exit status a CI job can use.
@Suite struct VerifyCommandTests {
    static let lesson = """
    return lesson{ id = "01-mine", title = "Mine", text = "Call kmalloc(n, GFP_KERNEL) and check the result.",
      exercises = {
        question{ id = "q1", points = 1, prompt = "PAGE_SIZE?", answer = numeric(PAGE_SIZE), hints = { "4096" } },
        question{ id = "q2", points = 1, prompt = "PAGE_SHIFT?", answer = 12, hints = { "12" } },
        task{ id = "alloc", points = 2, expects = "alloc", prompt = "Return kmalloc(64, GFP_KERNEL).", hints = { "h" },
          check = function(r)
            if math.type(r.returned) ~= "integer" or r.leaked ~= 1 then return fail("return the address") end
            return pass()
          end },
      } }
    """

    func directory(wrongScore: Int) throws -> ScratchDirectory {
        let dir = try ScratchDirectory()
        try dir.write("01-mine.lua", Self.lesson)
        try dir.write("solutions/01-mine.lua", "answers.q1 = 4096\nanswers.q2 = 12\nfunction alloc() return kmalloc(64, GFP_KERNEL) end\n")
        try dir.write("wrong/01-mine-no-task.lua", "-- expect score: \(wrongScore)\n-- expect alloc: fail return the address\nanswers.q1 = 4096\nanswers.q2 = 12\nfunction alloc() end\n")
        return dir
    }

    func verify(_ dir: ScratchDirectory, _ args: [String] = []) throws -> KmlabProcess.Result {
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_LESSONS"] = dir.url.path
        return try KmlabProcess.run(["verify"] + args, environment: env)
    }

    @Test func aMatchingLessonExitsZero() throws {
        let r = try verify(try directory(wrongScore: 2), ["1"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("ok    solutions/01-mine.lua: 4/4"))
        #expect(r.stdout.hasSuffix("verify: 1 lesson, everything matched\n"))
    }

    @Test func aMismatchIsShownAsADiffAndExitsOne() throws {
        let dir = try directory(wrongScore: 3)
        try dir.write("02-broken.lua", "return lesson{ id = '02-broken', title = 't', contxt = 1 }")
        let r = try verify(dir)
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL  wrong/01-mine-no-task.lua: 2/4\n        - expect score: 3\n        + got    score: 2"), "\(r.stdout)")
        #expect(r.stdout.contains("FAIL  02-broken.lua: the lesson does not load"))
        #expect(r.stdout.contains("did you mean 'text'?") || r.stdout.contains("unknown key 'contxt'"), "\(r.stdout)")
        let quiet = try verify(dir, ["--quiet", "1"])
        #expect(quiet.status == 1)
        #expect(!quiet.stdout.contains("ok    "))
    }

    @Test func unknownLessonsAndTheBuiltInCopyAreUsageErrors() throws {
        #expect(try verify(try directory(wrongScore: 2), ["42"]).status == 2)
        var env = ProcessInfo.processInfo.environment
        env["KMLAB_LESSONS"] = "/nonexistent-kmlab-lessons"
        #expect(try KmlabProcess.run(["verify"], environment: env).status != 0)
    }
}
