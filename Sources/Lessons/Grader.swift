import Foundation
import CLua
import KernelLua
import KernelSim
import LuaBridge

/// The budgets one check of one submission runs under.
public struct GradingLimits: Equatable, Sendable {
    /// Lua VM instructions for the answers file's top level, and again for
    /// each task call.
    public var maxInstructions: Int64
    /// Bytes the grading Lua state may hold, simulated memory contents included.
    public var maxMemory: Int

    public init(maxInstructions: Int64 = 20_000_000, maxMemory: Int = 64 << 20) {
        self.maxInstructions = maxInstructions
        self.maxMemory = maxMemory
    }

    /// 20 million instructions and 64 MiB per check: the reference
    /// solutions use well under 1 %.
    public static let `default` = GradingLimits()

    var lua: LuaLimits { LuaLimits(maxInstructions: maxInstructions, maxMemory: maxMemory) }
}

/// Grades answers files against one lesson. A plain value with no global
/// state: a batch grader can make one per worker process and call `grade`
/// for each submission.
///
/// The submission is untrusted. Questions are read from a state where only
/// the driver, the lesson and the answers file ran, with raw access only.
/// Each task gets a fresh Lua state and a freshly booted machine; the
/// learner's function runs under the budgets; its results are copied raw
/// into plain data before the lesson's check sees them.
public struct Grader: Sendable {
    public let lesson: Lesson
    public let limits: GradingLimits
    /// Mixed into task case generators with the learner's seed, so that the
    /// cases cannot be worked out from what the learner sees. Learner code
    /// never sees it; an instructor can set their own (`KMLAB_GRADER_SECRET`).
    public let caseSecret: UInt64

    public init(lesson: Lesson, limits: GradingLimits = .default, caseSecret: UInt64 = Grader.defaultCaseSecret) {
        self.lesson = lesson
        self.limits = limits
        self.caseSecret = caseSecret
    }

    /// The secret when none is configured.
    public static let defaultCaseSecret: UInt64 = 0x6b6d_6c61_625f_6373

    /// The environment variable an instructor sets to their own secret
    /// (any text; kmlab hashes it).
    public static let secretEnvironmentKey = "KMLAB_GRADER_SECRET"

    /// The secret in force: `KMLAB_GRADER_SECRET` hashed when it is set
    /// and not empty, else `defaultCaseSecret`.
    public static func configuredCaseSecret(environment: [String: String] = ProcessInfo.processInfo.environment) -> UInt64 {
        guard let text = environment[secretEnvironmentKey], !text.isEmpty else { return defaultCaseSecret }
        return fnv1a(Array("kmlab-grader-secret:".utf8) + Array(text.utf8))
    }

    /// What results files record of the grader secret: 16 hex digits of a
    /// salted SHA-256 of it, enough to tell two secrets apart and never the
    /// secret itself (nor the seeds it derives).
    public static func secretFingerprint(_ secret: UInt64) -> String {
        var bytes = Array("kmlab-grader-secret-fingerprint:".utf8)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: secret >> UInt64(shift))) }
        return String(SHA256.hex(bytes).prefix(16))
    }

    /// The learner seed `kmlab grade` and the autograders use for a
    /// submission: derived from its id and the grader's secret (so a student
    /// who knows their id cannot work out another student's variant without
    /// the secret), never 0 (seed 0 is the lesson as written). SHA-256, not
    /// FNV: the autograders show students their seed, and FNV's steps can be
    /// undone from a known id back to the secret's state, which would give
    /// away every other student's seed and, with some work, the secret.
    public static func variantSeed(forSubmission id: String, secret: UInt64 = defaultCaseSecret) -> UInt64 {
        var bytes = Array("kmlab-learner-seed:".utf8)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: secret >> UInt64(shift))) }
        let digest = SHA256.digest(bytes + Array(id.utf8))
        let h = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return h == 0 ? 1 : h
    }

    /// FNV-1a, 64 bits: a stable hash (Swift's own `Hasher` is seeded per process).
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Grades with the lesson as the learner with `variantSeed` sees it
    /// (their question variants and option order, and cases drawn from
    /// that seed and the grader's secret).
    public func grade(source: [UInt8], submissionID: String, variantSeed: UInt64,
                      onExercise: ((ExerciseResult) -> Void)? = nil) -> SubmissionResult {
        let instance: Lesson
        do {
            instance = try lesson.variant(seed: variantSeed)
        } catch {
            return graderFailure(submissionID, "\(error)")
        }
        return Grader(lesson: instance, limits: limits, caseSecret: caseSecret)
            .grade(source: source, submissionID: submissionID, onExercise: onExercise)
    }

    /// `onExercise` sees each exercise's result as soon as it is judged (the
    /// batch worker streams them, so a submission killed by the wall clock
    /// keeps the results it earned before the exercise that hung).
    public func grade(source: [UInt8], submissionID: String,
                      onExercise: ((ExerciseResult) -> Void)? = nil) -> SubmissionResult {
        let answers = AnswersChunk(source: source, name: "@" + submissionID)
        // Questions: one state, the answers file run once.
        let state: LessonState
        do {
            state = try prepareState(answers)
        } catch let failure as LearnerFailure {
            let results = lesson.exercises.map { e in
                ExerciseResult(id: e.id, status: failure.verdict, score: 0, maxScore: e.points,
                               feedback: "your answers file failed before any exercise could be checked: " + failure.feedback,
                               report: failure.report)
            }
            return SubmissionResult(id: submissionID, status: .error, exercises: results)
        } catch {
            return graderFailure(submissionID, "\(error)")
        }
        // Frees the state when done (see `LuaState.close`; a worker grades
        // thousands of submissions), and keeps it alive until then.
        defer { state.lua.close() }
        let given = readAnswers(state)
        // The first task reuses this state: nothing has run in it since the
        // answers file but raw reads.
        var unused: LessonState? = state
        var results: [ExerciseResult] = []
        for (index, exercise) in lesson.exercises.enumerated() {
            let result: ExerciseResult
            switch exercise.kind {
            case .question(let spec):
                result = judgeQuestion(exercise, spec: spec, answer: given?[exercise.id], answersTable: given != nil,
                                       strayKeys: given?[Self.strayKeysField])
            case .task(let expects, _, let allowed):
                result = runTask(exercise, index: index + 1, expects: expects, allowed: allowed,
                                 answers: answers, state: unused)
                unused = nil
            }
            results.append(result)
            onExercise?(result)
        }
        return SubmissionResult(id: submissionID, status: .graded, exercises: results)
    }

    // MARK: States

    /// A fresh state with the lesson loaded and the answers file run.
    /// Throws `LearnerFailure` when the answers file fails, anything else
    /// when the lesson or the grader does.
    func prepareState(_ answers: AnswersChunk) throws -> LessonState {
        let state = try LessonState(limits: limits.lua, hidden: true)
        var ready = false
        defer { if !ready { state.lua.close() } }
        try state.loadLesson(source: lesson.source, chunkName: lesson.chunkName,
                             variantSeed: lesson.variantSeed, caseSecret: caseSecret)
        state.lua.setGlobal("answers") { kmlab_newtable($0.L) }
        // `arg` as `kmlab run FILE` sets it (lua.c's: arg[0] is the script),
        // so that no global tells a graded run from the learner's own.
        state.lua.setGlobal("arg") { $0.push(.table([LuaTableEntry(key: .integer(0), value: .string(Array(answers.path.utf8)))])) }
        state.lua.resetBudgets()
        if let f = answers.load(into: state.lua) ?? state.lua.protectedCall(arguments: 0, results: 0) {
            throw LearnerFailure(f)
        }
        if let f = state.restoreLibraries() { throw LessonError.graderSetup(f.message) }
        ready = true
        return state
    }

    /// The learner's `answers` table, read raw (a metatable on it or on
    /// `_G` is ignored); nil if it is not a table.
    func readAnswers(_ state: LessonState) -> [String: LuaValue]? {
        let L = state.lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        state.lua.pushGlobal("answers")
        guard lua_type(L, -1) == LUA_TTABLE else { return nil }
        var out: [String: LuaValue] = [:]
        for e in lesson.exercises where !e.isTask {
            lua_pushstring(L, e.id)
            lua_rawget(L, -2)
            // A choice answer may be a small list; anything big is not an answer
            // (and copying it would cost the host memory the budget does not see).
            out[e.id] = Self.isSmall(L, at: -1) ? state.lua.value(at: -1, maxDepth: 2) : .elided("a large table")
            kmlab_pop(L, 1)
        }
        // Keys that name no exercise (typos such as `answers.Q1`), for feedback.
        let ids = Set(lesson.exercises.map(\.id))
        var strays: [String] = []
        let t = lua_gettop(L)
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            kmlab_pop(L, 1)
            if lua_type(L, -1) == LUA_TSTRING, let key = state.lua.string(at: -1), !ids.contains(key), key.count <= 40 {
                strays.append(key)
            }
            if strays.count >= 8 { kmlab_pop(L, 1); break }
        }
        out[Self.strayKeysField] = .table(strays.sorted().enumerated().map {
            LuaTableEntry(key: .integer(Int64($0.offset + 1)), value: .string($0.element))
        })
        return out
    }

    /// Whether the value at `index` is not a table, or a flat table of at
    /// most 32 entries (raw traversal).
    static func isSmall(_ L: OpaquePointer, at index: Int32) -> Bool {
        guard lua_type(L, index) == LUA_TTABLE else { return true }
        let t = lua_absindex(L, index)
        var count = 0
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            count += 1
            let nested = lua_type(L, -1) == LUA_TTABLE
            kmlab_pop(L, 1)
            if count > 32 || nested {
                kmlab_pop(L, 1)
                return false
            }
        }
        return true
    }

    // MARK: Questions

    /// Where `readAnswers` puts the keys that match no exercise (not a valid Lua identifier, so no clash).
    static let strayKeysField = " stray keys"

    func judgeQuestion(_ e: Exercise, spec: AnswerSpec, answer: LuaValue?, answersTable: Bool, strayKeys: LuaValue? = nil) -> ExerciseResult {
        func result(_ v: Verdict, _ feedback: String) -> ExerciseResult {
            ExerciseResult(id: e.id, status: v, score: v == .pass ? e.points : 0, maxScore: e.points, feedback: feedback)
        }
        guard answersTable else { return result(.fail, "answers is not a table: keep the line `answers = answers or {}` and set answers.\(e.id)") }
        guard let answer, answer != .nil else {
            let strays = LessonParser.list(strayKeys).compactMap(\.text)
            let note = strays.isEmpty ? "" : " (your answers table has " + strays.map { "answers.\($0)" }.joined(separator: ", ") + ", which no exercise uses)"
            return result(.fail, "no answer: set answers.\(e.id)" + note)
        }
        if AnswerMatcher.isRight(answer, spec: spec, accept: e.accept) { return result(.pass, "") }
        if let fb = AnswerMatcher.feedback(for: answer, spec: spec, in: e.feedback) { return result(.fail, fb) }
        if case .choice(let options, _) = spec, AnswerMatcher.choiceSet(answer, options: options) == nil {
            let letters = options.indices.map(AnswerMatcher.letter)
            return result(.fail, "answer with the letter of one option (\(letters.dropLast().joined(separator: ", ")) or \(letters.last ?? "a")); you gave \(Self.describe(answer))")
        }
        return result(.fail, "not the expected answer (you gave \(Self.describe(answer)))")
    }

    static func describe(_ v: LuaValue) -> String {
        switch v {
        case .integer(let i): return i >= 256 || i <= -256 ? "\(i) = 0x\(String(UInt64(bitPattern: i), radix: 16))" : "\(i)"
        case .number(let d): return "\(d)"
        case .string(let b): return "\"" + Feedback.clip(String(decoding: b, as: UTF8.self), 60) + "\""
        case .boolean(let b): return "\(b)"
        case .table: return "a table"
        case .function: return "a function"
        case .elided(let what): return what
        default: return "a value of another type"
        }
    }

    func graderFailure(_ id: String, _ message: String) -> SubmissionResult {
        let results = lesson.exercises.map {
            ExerciseResult(id: $0.id, status: .graderError, score: 0, maxScore: $0.points, feedback: Feedback.clip(message, 600))
        }
        return SubmissionResult(id: id, status: .graderError, exercises: results)
    }
}

/// A submission's answers file, parsed once per submission: the first
/// state loads the text and keeps its bytecode, the others load that (a
/// submission runs in a fresh state per check, and parsing the same text
/// again was a sixth of a grading worker's time). The bytecode is the
/// compiler's own output for this text, debug info kept, so errors still
/// name the file and line; learners cannot hand the grader bytecode.
final class AnswersChunk {
    let source: [UInt8]
    let name: String
    /// The file's path (the submission id), as `arg[0]`.
    var path: String { String(name.dropFirst()) }
    private var bytecode: [UInt8]?

    init(source: [UInt8], name: String) {
        self.source = source
        self.name = name
    }

    /// Pushes the chunk's function onto `lua`'s stack, or returns the syntax error.
    func load(into lua: LuaState) -> LuaFailure? {
        if let bytecode { return lua.load(bytecode, chunkName: name, mode: "b") }
        if let failure = lua.load(source, chunkName: name) { return failure }
        bytecode = lua.dumpFunction()
        return nil
    }
}

/// The learner's code failed: which verdict, and what to tell them.
struct LearnerFailure: Error {
    var verdict: Verdict
    var feedback: String
    var report: String?

    init(_ f: LuaFailure) {
        switch f.kind {
        case .syntax:
            verdict = .error
            feedback = "syntax error: " + Feedback.clip(f.message, 400)
        case .instructionLimit:
            verdict = .timeout
            feedback = f.message + ": an endless loop?"
        case .memoryLimit:
            verdict = .memory
            feedback = f.message
        case .interrupted:
            verdict = .timeout
            feedback = "interrupted"
        case .error:
            if let r = f.payload as? ReportText {
                verdict = .bug
                let lines = r.text.split(separator: "\n").map(String.init)
                feedback = "your code crashed the kernel: " + Feedback.summary(of: lines)
                report = r.text
            } else {
                verdict = .error
                feedback = Feedback.clip(f.message, 400)
            }
        }
    }
}

enum Feedback {
    static func clip(_ s: String, _ n: Int) -> String {
        s.count <= n ? s : String(s.prefix(n)) + "..."
    }

    /// The line that says what happened (a WARN starts with a "cut here"
    /// rule, a lockdep report with an empty line and a rule of "=").
    static func summary(of lines: [String]) -> String {
        lines.first { line in
            !line.hasPrefix("------------[ cut here") && !line.allSatisfy { $0 == "=" || $0 == " " }
        } ?? lines.first ?? ""
    }

    /// A sentence on what a kind of report usually means in a learner's code.
    static func explanation(_ kind: String) -> String {
        switch kind {
        case "warning", "allocation-failure":
            return " (an allocation failed and the kernel warned: check the size first, or pass __GFP_NOWARN when you expect failure and handle it)"
        case "double-free": return " (the same object was freed twice)"
        case "invalid-free": return " (kfree/vfree of a pointer that allocator did not give out)"
        case "use-after-free": return " (memory was used after it was freed)"
        case "slab-out-of-bounds", "vmalloc-out-of-bounds": return " (an access past the end of the allocation)"
        case "debug-virtual": return " (__pa/virt_to_page work only on direct-map addresses: not vmalloc, highmem or user addresses)"
        case "sleeping-in-atomic": return " (something that may sleep ran where sleeping is not allowed)"
        case "dma-api": return " (the DMA API's debug checks caught a misuse: what was mapped, how, or whether the result was checked)"
        case "dma-corruption": return " (the device reached physical memory outside its mapping: the buffer was not physically contiguous, or the address was wrong)"
        case "dmar-fault": return " (the IOMMU blocked the device: the I/O virtual address was not mapped, already unmapped, or mapped for the other direction)"
        case "inconsistent-lock-state": return " (a lock that an interrupt handler takes was taken with interrupts enabled: use spin_lock_irqsave)"
        case "null-pointer-dereference": return " (a NULL pointer was used: check what an allocation returned before using it)"
        case "page-fault": return " (an address that is not mapped was used)"
        default: return ""
        }
    }

    static func firstLine(_ s: String) -> String {
        String(s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
