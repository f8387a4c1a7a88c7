import Foundation

/// Who a submission belongs to, and which one file per student is graded:
/// `kmlab grade --id-from dir|file|regex:PATTERN` and `--pick NAME`.
public enum StudentIDRule: Sendable {
    /// The first directory below the graded root (`subs/alice/hw/answers.lua`
    /// → `alice`); a file directly in the root is its own student (its name
    /// without `.lua`).
    case dir
    /// The file's name without `.lua` (`subs/alice.lua` → `alice`).
    case file
    /// A regular expression searched in the path below the graded root: its
    /// first capture group (else the whole match) is the student id.
    case regex(NSRegularExpression)

    /// `dir`, `file` or `regex:PATTERN`; a message naming the problem otherwise.
    public static func parse(_ text: String) -> Result<StudentIDRule, BatchError> {
        switch text {
        case "dir": return .success(.dir)
        case "file": return .success(.file)
        default:
            guard text.hasPrefix("regex:") else {
                return .failure(.usage("--id-from must be dir, file or regex:PATTERN, got '\(text)'"))
            }
            let pattern = String(text.dropFirst(6))
            guard !pattern.isEmpty, let r = try? NSRegularExpression(pattern: pattern) else {
                return .failure(.usage("--id-from regex: '\(pattern)' is not a valid regular expression"))
            }
            return .success(.regex(r))
        }
    }

    /// The student of a submission, from the path below its root; nil when
    /// a regular expression does not match.
    public func student(of relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let name = parts.last ?? relative
        let stem = name.hasSuffix(".lua") ? String(name.dropLast(4)) : name
        switch self {
        case .dir: return parts.count > 1 ? parts[0] : stem
        case .file: return stem
        case .regex(let r):
            let range = NSRange(relative.startIndex..., in: relative)
            guard let m = r.firstMatch(in: relative, range: range) else { return nil }
            let group = m.numberOfRanges > 1 && m.range(at: 1).location != NSNotFound ? m.range(at: 1) : m.range
            guard let found = Range(group, in: relative), !found.isEmpty else { return nil }
            return String(relative[found])
        }
    }
}

public enum ClassLayout {
    /// The submissions with their students; `unmatched` lists ids a
    /// regular expression did not match (they stay their own student).
    public static func assignStudents(_ refs: [SubmissionRef], rule: StudentIDRule) -> (refs: [SubmissionRef], unmatched: [String]) {
        var unmatched: [String] = []
        let out = refs.map { ref -> SubmissionRef in
            var ref = ref
            if let s = rule.student(of: ref.relative) { ref.student = s } else { unmatched.append(ref.id) }
            return ref
        }
        return (out, unmatched)
    }

    /// `--pick NAME`: one file per student, the one whose name matches the
    /// shell pattern NAME, the shallowest (then first by id) when several
    /// do. A student with none (a directory of its own with `--id-from dir`,
    /// or a student seen only through other files) gets a `missing` entry
    /// whose reason lists what was there. `notes` say which extra matches
    /// were left out.
    public static func pick(_ refs: [SubmissionRef], pattern: String, knownStudents: [(prefix: String, name: String)])
        -> (refs: [SubmissionRef], notes: [String]) {
        var byStudent: [String: [SubmissionRef]] = [:]
        for r in refs { byStudent[r.student ?? r.id, default: []].append(r) }
        var prefixes: [String: String] = [:]
        for k in knownStudents {
            if byStudent[k.name] == nil { byStudent[k.name] = [] }
            prefixes[k.name] = k.prefix
        }
        var out: [SubmissionRef] = []
        var notes: [String] = []
        for student in byStudent.keys.sorted(by: SubmissionFinder.byteOrder) {
            let files = byStudent[student] ?? []
            let matching = files.filter { matches(pattern, name: lastComponent($0.relative)) }
                .sorted { depth($0) != depth($1) ? depth($0) < depth($1) : SubmissionFinder.byteOrder($0.id, $1.id) }
            if let chosen = matching.first {
                out.append(chosen)
                if matching.count > 1 {
                    notes.append("\(student): graded \(chosen.id); left out \(matching.dropFirst().map(\.id).joined(separator: ", "))")
                }
                continue
            }
            let found = files.map { lastComponent($0.relative) }
            let why = "no file named \(pattern) for this student" + (found.isEmpty ? " (no *.lua file at all)" : " (found: \(found.prefix(5).joined(separator: ", "))\(found.count > 5 ? ", ..." : ""))")
            let prefix = prefixes[student] ?? files.first.map { String($0.id.dropLast($0.relative.count)) } ?? ""
            let id = prefix + (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + student + "/" + pattern
            out.append(SubmissionRef(id: id, relative: student + "/" + pattern, path: [], tree: [], student: student, missing: why))
        }
        return (out.sorted { SubmissionFinder.byteOrder($0.id, $1.id) }, notes)
    }

    static func lastComponent(_ s: String) -> String { s.split(separator: "/").last.map(String.init) ?? s }
    static func depth(_ r: SubmissionRef) -> Int { r.relative.filter { $0 == "/" }.count }

    /// Shell-style pattern (`*`, `?`, `[...]`) on a file name, as fnmatch(3).
    static func matches(_ pattern: String, name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
