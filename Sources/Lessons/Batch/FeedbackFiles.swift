/// `kmlab grade --feedback-dir DIR`: one text file per student with what
/// `kmlab check` would have shown them (every exercise's verdict and
/// feedback, kernel reports in full), for handing back.
public enum FeedbackFiles {
    /// File name → text, one per student (several submissions of one
    /// student share a file). Names are the student id made safe as one
    /// file name (see `fileName`), with `.txt`.
    public static func render(_ report: BatchReport) -> [(name: String, text: String)] {
        var order: [String] = []
        var texts: [String: String] = [:]
        for (i, r) in report.results.enumerated() {
            let student = report.students[i]
            if texts[student] == nil { order.append(student) }
            var t = texts[student] ?? ""
            if !t.isEmpty { t += "\n" }
            t += "kmlab \(report.toolVersion), lesson \(report.lesson.id), submission \(r.id): \(r.score)/\(r.maxScore) (\(r.status.rawValue))\n\n"
            t += CheckReport.render(r, lesson: report.lesson)
            texts[student] = t
        }
        var used: [String: Int] = [:]
        return order.map { student in
            var name = fileName(student)
            let n = used[name, default: 0] + 1
            used[name] = n
            if n > 1 { name += "-\(n)" }
            return (name + ".txt", DisplayText.escapeLines(texts[student] ?? ""))
        }
    }

    /// A student id as one safe file name: letters, digits and `._-@+`
    /// kept (any script), everything else (slashes, controls, spaces) `_`,
    /// no leading dot, at most 100 characters.
    public static func fileName(_ student: String) -> String {
        var out = ""
        for c in student.prefix(100) {
            let keep = c.isLetter || c.isNumber || "._-@+".contains(c)
            out.append(keep ? c : "_")
        }
        if out.hasPrefix(".") { out = "_" + out.dropFirst() }
        return out.isEmpty ? "_" : out
    }
}
