/// How `kmlab grade --format csv` lays out its table.
public struct CSVOptions: Sendable, Equatable {
    /// Column names and choice of columns.
    public enum Style: String, CaseIterable, Sendable {
        /// `student,submission,total,max,status,<exercise ids...>,feedback`.
        case kmlab
        /// Canvas's gradebook import: `Student,ID,SIS User ID,SIS Login ID,Section,<lesson>`,
        /// the student id as SIS Login ID (the column Canvas matches when ID is empty).
        case canvas
        /// Moodle's "Import grades from CSV": `Username,<lesson>,Feedback`,
        /// mapped by username on import.
        case moodle
    }

    public var style: Style = .kmlab
    /// A UTF-8 byte-order mark first, so spreadsheets that guess the
    /// encoding (Excel) show `José` and not `JosÃ©`.
    public var byteOrderMark = false

    public init(style: Style = .kmlab, byteOrderMark: Bool = false) {
        self.style = style
        self.byteOrderMark = byteOrderMark
    }
}

extension BatchReport {
    /// RFC 4180 with CRLF line ends; every text cell is neutralised against
    /// formula injection (`CSVReport.cell`).
    func csv() -> String {
        let rows: [[String]]
        switch csvOptions.style {
        case .kmlab: rows = kmlabRows()
        case .canvas:
            rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", gradebookColumn]]
                + results.indices.map { [students[$0], "", "", students[$0], "", "\(results[$0].score)"] }
        case .moodle:
            rows = [["Username", gradebookColumn, "Feedback"]]
                + results.indices.map { [students[$0], "\(results[$0].score)", summary(results[$0])] }
        }
        let text = rows.map { $0.map(CSVReport.cell).joined(separator: ",") + "\r\n" }.joined()
        return (csvOptions.byteOrderMark ? "\u{FEFF}" : "") + text
    }

    /// The lesson's column in an LMS gradebook: its id and its points.
    var gradebookColumn: String { "kmlab \(lesson.id) (\(lesson.maxScore) points)" }

    func kmlabRows() -> [[String]] {
        var rows = [["student", "submission", "total", "max", "status"] + lesson.exercises.map(\.id) + ["feedback"] + (timings != nil ? ["time_ms"] : [])]
        for (i, r) in results.enumerated() {
            var row = [students[i], r.id, "\(r.score)", "\(r.maxScore)", r.status.rawValue]
            for e in lesson.exercises {
                row.append(r.exercises.first { $0.id == e.id }.map { "\($0.score)" } ?? "0")
            }
            row.append(summary(r))
            if let timings { row.append("\(timings[i])") }
            rows.append(row)
        }
        return rows
    }

    /// One cell of feedback: each exercise that did not pass, with its
    /// verdict and the first line of its feedback.
    func summary(_ r: SubmissionResult) -> String {
        r.exercises.filter { $0.status != .pass }.map { e in
            let first = e.feedback.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return "\(e.id): \(e.status.rawValue) (\(e.score)/\(e.maxScore)) \(first)"
        }.joined(separator: "; ")
    }
}

public enum CSVReport {
    /// A cell as RFC 4180 writes it, after OWASP's rule against CSV
    /// injection: a cell a spreadsheet would read as a formula (starting
    /// with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`.
    /// Numbers kmlab writes itself are never negative, so every cell can
    /// follow the rule.
    public static func cell(_ s: String) -> String {
        var s = s
        if let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { s = "'" + s }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
