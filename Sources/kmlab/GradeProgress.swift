import Foundation
import Lessons

/// Progress of `kmlab grade` on stderr: a bar with counts, rate and ETA
/// redrawn in place when stderr is a terminal; otherwise one plain line per
/// submission (for logs and CI); nothing with --quiet.
final class GradeProgress {
    let total: Int
    let quiet: Bool
    let tty = Terminal.stderrIsTTY
    private var done = 0
    private var graded = 0
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
    }

    func update(_ record: GradeRecord, reused: Bool) {
        done += 1
        if !reused { graded += 1 }
        guard !quiet else { return }
        let r = record.result
        if !tty {
            Terminal.error("[\(done)/\(total)] \(DisplayText.escape(r.id)): \(r.score)/\(r.maxScore) \(r.status.rawValue)\(reused ? " (saved result)" : "")")
            return
        }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(graded) / elapsed : 0
        let eta = rate > 0 ? Int(Double(total - done) / rate) : 0
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\r[\(bar)] \(done)/\(total)  \(Int(rate))/s  ETA \(eta / 60):\(String(format: "%02d", eta % 60))  "
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if tty && !quiet && done > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
