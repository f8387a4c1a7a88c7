/// The terminal summary of a batch: what an instructor wants to know first.
/// A table of submissions and scores, the score distribution, and the
/// exercises that most often did not pass with their most common feedback.
enum BatchSummary {
    static func render(_ report: BatchReport) -> String {
        let lesson = report.lesson
        let results = report.results
        var lines: [String] = []
        lines.append("kmlab grade: lesson \(lesson.id) (\(lesson.title)), \(results.count) submission\(results.count == 1 ? "" : "s"), \(lesson.maxScore) points each")
        lines.append("")
        // The table.
        // Ids and feedback come from submissions: escaped (see DisplayText).
        let ids = results.map { DisplayText.escape($0.id) }
        let width = min(60, max(10, ids.map(DisplayText.width).max() ?? 10))
        lines.append("  " + pad("submission", width) + "  " + pad("score", 7) + "  status" + (report.timings != nil ? "      time" : ""))
        for (i, r) in results.enumerated() {
            var row = "  " + pad(clipLeft(ids[i], width), width) + "  " + pad("\(r.score)/\(r.maxScore)", 7) + "  " + pad(r.status.rawValue, 12)
            if let t = report.timings { row += "  \(t[i]) ms" }
            while row.hasSuffix(" ") { row.removeLast() }
            lines.append(row)
        }
        guard !results.isEmpty else { return lines.joined(separator: "\n") + "\n" }

        // The distribution.
        lines.append("")
        let scores = results.map(\.score).sorted()
        let total = scores.reduce(0, +)
        let mean = Double(total) / Double(scores.count)
        let median = scores.count % 2 == 1 ? Double(scores[scores.count / 2]) : Double(scores[scores.count / 2 - 1] + scores[scores.count / 2]) / 2
        let full = results.filter { $0.score == $0.maxScore }.count
        lines.append("Scores: mean \(fixed1(mean)), median \(fixed1(median)) of \(lesson.maxScore); full marks: \(full) of \(results.count)")
        let buckets = distribution(scores, max: lesson.maxScore)
        let most = buckets.map(\.count).max() ?? 1
        let labelWidth = buckets.map(\.label.count).max() ?? 1
        for b in buckets {
            let bar = String(repeating: "#", count: b.count == 0 ? 0 : max(1, b.count * 40 / max(1, most)))
            lines.append("  " + String(repeating: " ", count: labelWidth - b.label.count) + b.label + " | " + bar + (b.count > 0 ? " \(b.count)" : ""))
        }

        // The exercises that most often did not pass.
        var failing: [(id: String, count: Int, feedback: [(String, Int)])] = []
        for e in lesson.exercises {
            // Feedback with the file's own path in it (Lua errors name
            // their chunk) is grouped across files as "answers.lua".
            let rows = results.filter { $0.status != .unreadable && $0.status != .missing }.compactMap { r -> (ExerciseResult, String)? in
                guard let row = r.exercises.first(where: { $0.id == e.id }), row.status != .pass else { return nil }
                return (row, DisplayText.escape(firstLine(row.feedback).replacingOccurrences(of: r.id + ":", with: "answers.lua:")))
            }
            guard !rows.isEmpty else { continue }
            var byText: [String: Int] = [:]
            for (row, text) in rows { byText[row.status.rawValue + ": " + text, default: 0] += 1 }
            let top = byText.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3).map { ($0.key, $0.value) }
            failing.append((e.id, rows.count, top))
        }
        lines.append("")
        if failing.isEmpty {
            lines.append("Every exercise passed in every submission.")
        } else {
            lines.append("Exercises that most often did not pass:")
            for f in failing.sorted(by: { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }).prefix(5) {
                lines.append("  \(f.id): \(f.count) of \(results.count) did not pass")
                for (text, n) in f.feedback {
                    lines.append("    \(n)x \(clip(text, 110))")
                }
            }
        }
        if !report.duplicates.isEmpty {
            lines.append("")
            lines.append("Possible copies (identical files; near-identical: the same code after renaming and reformatting):")
            for g in report.duplicates.prefix(20) {
                lines.append("  \(g.kind.rawValue): " + clip(g.ids.map(DisplayText.escape).joined(separator: ", "), 400))
            }
            if report.duplicates.count > 20 { lines.append("  ... and \(report.duplicates.count - 20) more groups (see --format json)") }
        }
        let missing = results.indices.filter { results[$0].status == .missing }.map { DisplayText.escape(report.students[$0]) }
        if !missing.isEmpty {
            lines.append("")
            lines.append("\(missing.count) student\(missing.count == 1 ? " has" : "s have") no file to grade (status missing): " + clip(missing.joined(separator: ", "), 400))
        }
        let unreadable = results.filter { $0.status == .unreadable }.count
        if unreadable > 0 { lines.append(""); lines.append("\(unreadable) submission\(unreadable == 1 ? "" : "s") could not be read (status unreadable; see --format json for why).") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One bucket per score when there are at most 20 points, else ten bands.
    static func distribution(_ scores: [Int], max maxScore: Int) -> [(label: String, count: Int)] {
        if maxScore <= 20 {
            return (0...max(0, maxScore)).reversed().map { s in ("\(s)", scores.filter { $0 == s }.count) }
        }
        return (0..<10).reversed().map { band in
            let lo = band * maxScore / 10
            let hi = band == 9 ? maxScore : (band + 1) * maxScore / 10 - 1
            return ("\(lo)-\(hi)", scores.filter { $0 >= lo && $0 <= hi }.count)
        }
    }

    static func pad(_ s: String, _ n: Int) -> String { DisplayText.pad(s, n) }
    static func clipLeft(_ s: String, _ n: Int) -> String { DisplayText.clipLeft(s, n) }
    static func clip(_ s: String, _ n: Int) -> String { DisplayText.clip(s, n) }
    static func firstLine(_ s: String) -> String { String(s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
    static func fixed1(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
