import ArgumentParser
import Lessons

/// `kmlab grade` options about whose submissions are graded: student ids
/// from the layout and one file per student (kept apart from GradeCommand).
struct GradeSelectionOptions: ParsableArguments {
    @Option(name: .customLong("id-from"), help: "Student ids: dir (first directory below the root), file (file name without .lua) or regex:PATTERN (first group, on the path below the root). Default with --pick: dir.")
    var idFrom: String?

    @Option(help: "Grade one file per student: the one named NAME (a shell pattern, e.g. answers.lua); students without one are reported as missing.")
    var pick: String?

    @Flag(name: .customLong("allow-partial"), help: "With --merge: report on the shards given even when some are missing.")
    var allowPartial = false

    func validate() throws {
        if let idFrom, case .failure(let e) = StudentIDRule.parse(idFrom) { throw ValidationError(e.description) }
        if let pick, pick.isEmpty || pick.contains("/") { throw ValidationError("--pick takes a file name (or shell pattern) without a directory, got '\(pick)'") }
    }

    /// The rule in force: --id-from, else `dir` when --pick needs students.
    var rule: StudentIDRule? {
        if let idFrom, case .success(let r) = StudentIDRule.parse(idFrom) { return r }
        return pick != nil ? .dir : nil
    }

    /// Recorded with every result: runs with other values do not mix.
    var recorded: String {
        var parts: [String] = []
        if let idFrom { parts.append("--id-from \(idFrom)") } else if pick != nil { parts.append("--id-from dir") }
        if let pick { parts.append("--pick \(pick)") }
        return parts.joined(separator: " ")
    }

    /// The submissions under `roots` with students and the picked files;
    /// notes about what was left out go to stderr.
    func select(_ roots: [String]) throws -> [SubmissionRef] {
        var refs: [SubmissionRef]
        do { refs = try SubmissionFinder.find(roots) } catch {
            GradeOutput.say("kmlab grade: \(error)")
            throw ExitCode(2)
        }
        guard let rule else { return refs }
        let (assigned, unmatched) = ClassLayout.assignStudents(refs, rule: rule)
        refs = assigned
        if !unmatched.isEmpty {
            GradeOutput.say("kmlab grade: --id-from \(idFrom ?? "dir") did not match \(unmatched.count) submission\(unmatched.count == 1 ? "" : "s") (each is its own student): \(unmatched.prefix(5).joined(separator: ", "))\(unmatched.count > 5 ? ", ..." : "")")
        }
        guard let pick else { return refs }
        let known: [(prefix: String, name: String)]
        if case .dir = rule { known = roots.flatMap(SubmissionFinder.studentDirectories) } else { known = [] }
        let (picked, notes) = ClassLayout.pick(refs, pattern: pick, knownStudents: known)
        for n in notes { GradeOutput.say("kmlab grade: --pick: \(n)") }
        return picked
    }
}
