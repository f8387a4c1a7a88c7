import ArgumentParser
import Foundation
import Lessons
import SafeOutput

/// `kmlab grade` options about what the report says and how the run ends
/// (kept apart from the grading options in GradeCommand).
struct GradeReportOptions: ParsableArguments {
    @Option(name: .customLong("csv-style"), help: "CSV columns: kmlab (student, submission, total, max, status, exercises, feedback), or canvas or moodle (gradebook import).")
    var csvStyle: CSVOptions.Style = .kmlab

    @Flag(name: .customLong("csv-bom"), help: "Start the CSV with a UTF-8 byte-order mark (for Excel).")
    var csvBOM = false

    @Option(name: .customLong("feedback-dir"), help: "Write one feedback file per student into this directory (created if needed): verdicts, feedback and full kernel reports.")
    var feedbackDir: String?

    @Option(name: .customLong("fail-under"), help: "Exit with status 3 when any submission scores below SCORE: points (8) or a percentage (80%).")
    var failUnder: String?

    func validate() throws {
        if let failUnder, FailUnder(failUnder) == nil {
            throw ValidationError("--fail-under must be points (8) or a percentage (80%), got '\(failUnder)'")
        }
    }

    /// Before grading: a feedback directory that cannot be one is a usage error now.
    func checkFeedbackDirectory() throws {
        guard let feedbackDir else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: feedbackDir, isDirectory: &isDirectory), !isDirectory.boolValue {
            GradeOutput.say("kmlab grade: --feedback-dir \(feedbackDir): it exists and is not a directory")
            throw ExitCode(2)
        }
    }

    /// One file per student in --feedback-dir (through OutputFile).
    func writeFeedback(_ report: BatchReport) throws {
        guard let feedbackDir else { return }
        do {
            try FileManager.default.createDirectory(atPath: feedbackDir, withIntermediateDirectories: true)
            for (name, text) in FeedbackFiles.render(report) {
                try OutputFile.write(text, to: feedbackDir + "/" + name)
            }
        } catch {
            GradeOutput.say("kmlab grade: --feedback-dir: \(error)")
            throw ExitCode(1)
        }
    }

    var csv: CSVOptions { CSVOptions(style: csvStyle, byteOrderMark: csvBOM) }

    /// After the report is written: exit status 3 when a submission scored
    /// below `--fail-under`, naming them on stderr.
    func checkScores(_ report: BatchReport) throws {
        guard let failUnder, let threshold = FailUnder(failUnder) else { return }
        let below = report.results.filter(threshold.fails)
        guard !below.isEmpty else { return }
        let names = below.prefix(10).map { "\(DisplayText.escape($0.id)) (\($0.score)/\($0.maxScore))" }.joined(separator: ", ")
        GradeOutput.say("kmlab grade: \(below.count) of \(report.results.count) submission\(report.results.count == 1 ? "" : "s") scored below --fail-under \(threshold): \(names)\(below.count > 10 ? ", ..." : "")")
        throw ExitCode(FailUnder.exitStatus)
    }
}
