/// The kernel log (`dmesg`): lines with the simulated time stamp, and the
/// structured reports in the order they were raised.
///
/// Both are bounded, so a script that raises reports in a loop cannot make
/// the host hold more than a fixed amount for them (the memory budget counts
/// only the simulated memory):
///
/// - the lines live in a ring buffer sized like the kernel's: the printk
///   ring buffer (kernel/printk/printk.c) has a text area of
///   `1 << CONFIG_LOG_BUF_SHIFT` bytes (init/Kconfig: default 17, 128 KiB)
///   and `1 << (CONFIG_LOG_BUF_SHIFT - PRB_AVGBITS)` descriptors (4096, for
///   PRB_AVGBITS 5); a record takes its text plus the block's id, aligned to
///   a long (kernel/printk/printk_ringbuffer.c `to_blk_size`). When either
///   runs out the oldest records are overwritten, and `dmesg` shows what is
///   left. (2.6.18's log_buf was a plain character ring of the same size,
///   CONFIG_LOG_BUF_SHIFT 17 with LOCKDEP.)
/// - the structured reports keep exact counts (`reportCount`, by kind in
///   `reportCountsByKind`), the first `keptFirst` and the last `keptLast`
///   reports in full, and the latest report of each kind, so that every
///   window of time in which a kind was raised still has one of that kind
///   (graders rely on that: see `reports(since:)`).
public final class KernelLog {
    /// Bytes of the text area: 1 << CONFIG_LOG_BUF_SHIFT.
    public static let textAreaBytes = 1 << 17
    /// Descriptors: 1 << (CONFIG_LOG_BUF_SHIFT - PRB_AVGBITS).
    public static let maxRecords = 1 << (17 - 5)
    /// Reports kept in full from the start of the run, and from its end.
    public static let keptFirst = 100
    public static let keptLast = 100

    // MARK: lines

    /// Stamped lines, oldest at `lineStart`.
    private var lineStore: [String] = []
    private var lineStart = 0
    /// Ring-buffer bytes each retained line takes (parallel to lineStore).
    private var lineBytes: [Int] = []
    private var usedBytes = 0
    /// Lines logged since boot (the number of the next line).
    public private(set) var lineCount = 0
    /// Lines overwritten because the ring buffer was full.
    public var linesDropped: Int { lineCount - (lineStore.count - lineStart) }
    /// Lines already handed out by `takeNewLines()`, as a line number.
    private var consumed = 0

    // MARK: reports

    /// Reports raised since boot (exact, whatever was dropped).
    public private(set) var reportCount = 0
    /// Reports raised since boot, by kind (exact).
    public private(set) var reportCountsByKind: [KernelReport.Kind: Int] = [:]
    private var firstReports: [KernelReport] = []
    /// The last `keptLast` reports with their sequence numbers, oldest first
    /// from `lastStart`.
    private var lastReports: [(Int, KernelReport)] = []
    private var lastStart = 0
    /// The latest report of each kind, with its sequence number.
    private var latestByKind: [KernelReport.Kind: (Int, KernelReport)] = [:]
    /// Reports not kept in full (counted in `reportCount`).
    public var reportsDropped: Int { reportCount - retainedReports().count }

    /// Told of every report as it is recorded, with its stamped lines
    /// (`kmlab run` and the REPL echo reports to stderr as they happen).
    public var reportObserver: ((KernelReport, [String]) -> Void)?
    /// Told of every report too, before anything else (the Lua glue charges
    /// the host work of a report to the script's instruction budget).
    public var reportCost: (() -> Void)?

    public init() {}

    /// The lines still in the ring buffer, oldest first.
    public var lines: [String] { Array(lineStore[lineStart...]) }

    /// Appends one line stamped with the simulated time in nanoseconds,
    /// formatted as the kernel does: `[    1.234567] text`.
    public func print(_ text: String, timeNanoseconds: UInt64) {
        _ = printReturningLines([text], timeNanoseconds: timeNanoseconds)
    }

    /// Logs a report's lines as `print` would log its text (the lines
    /// joined), without joining and splitting again (a scan reporting 10^5
    /// leaks spent most of its time there); a line holding a newline is
    /// still split.
    private func printReturningLines(_ lines: [String], timeNanoseconds: UInt64) -> [String] {
        let stamp = KernelLog.timestamp(timeNanoseconds)
        var out: [String] = []
        out.reserveCapacity(lines.count)
        // No lines joined is the empty text: one empty line.
        for whole in lines.isEmpty ? [""] : lines {
            if whole.utf8.contains(10) {
                for line in whole.split(separator: "\n", omittingEmptySubsequences: false) {
                    let s = "[\(stamp)] \(line)"
                    append(s, textBytes: line.utf8.count)
                    out.append(s)
                }
            } else {
                let s = "[\(stamp)] \(whole)"
                append(s, textBytes: whole.utf8.count)
                out.append(s)
            }
        }
        return out
    }

    /// Appends lines already stamped (boot messages, replayed from a cache).
    func appendStamped(_ stamped: ArraySlice<String>) {
        for s in stamped {
            // "[    0.000000] " is 15 bytes of time stamp, not of text.
            append(s, textBytes: max(0, s.utf8.count - 15))
        }
    }

    private func append(_ stamped: String, textBytes: Int) {
        // to_blk_size(): the text plus the block's id, aligned to a long. A
        // record larger than the whole area is truncated, as printk limits a
        // record to LOG_LINE_MAX.
        let size = min((textBytes + 8 + 7) & ~7, KernelLog.textAreaBytes)
        lineStore.append(stamped)
        lineBytes.append(size)
        usedBytes += size
        lineCount += 1
        while usedBytes > KernelLog.textAreaBytes || lineStore.count - lineStart > KernelLog.maxRecords {
            usedBytes -= lineBytes[lineStart]
            lineStart += 1
        }
        // Compact once the dropped prefix is as large as what is kept.
        if lineStart > 1024 && lineStart * 2 > lineStore.count {
            lineStore.removeFirst(lineStart)
            lineBytes.removeFirst(lineStart)
            lineStart = 0
        }
    }

    /// Records a report and prints its lines.
    public func record(_ report: KernelReport, timeNanoseconds: UInt64) {
        reportCost?()
        let seq = reportCount
        reportCount += 1
        reportCountsByKind[report.kind, default: 0] += 1
        if firstReports.count < KernelLog.keptFirst {
            firstReports.append(report)
        } else {
            lastReports.append((seq, report))
            if lastReports.count - lastStart > KernelLog.keptLast { lastStart += 1 }
            if lastStart > 1024 {
                lastReports.removeFirst(lastStart)
                lastStart = 0
            }
        }
        latestByKind[report.kind] = (seq, report)
        let stamped = printReturningLines(report.lines, timeNanoseconds: timeNanoseconds)
        reportObserver?(report, stamped)
    }

    /// The retained reports with their sequence numbers, oldest first.
    private func retainedReports() -> [(Int, KernelReport)] {
        var out = firstReports.enumerated().map { ($0.offset, $0.element) }
        let tail = lastReports[lastStart...]
        let tailFrom = tail.first?.0 ?? reportCount
        // The latest of each kind, when it fell between the two.
        let between = latestByKind.values.filter { $0.0 >= firstReports.count && $0.0 < tailFrom }
            .sorted { $0.0 < $1.0 }
        out += between
        out += tail
        return out
    }

    /// The reports kept, oldest first: all of them while there are at most
    /// `keptFirst + keptLast`; then the first and last ones and the latest
    /// of each kind (`reportCount` says how many were raised).
    public var reports: [KernelReport] {
        if lastStart == 0 { return firstReports + lastReports.map(\.1) }
        return retainedReports().map(\.1)
    }

    /// The kept reports raised after the first `count` reports (`count` a
    /// value of `reportCount` read earlier). Whatever kinds were raised
    /// since then, each has at least its latest report here.
    public func reports(since count: Int) -> [KernelReport] {
        retainedReports().filter { $0.0 >= count }.map(\.1)
    }

    /// The whole log as `dmesg` prints it.
    public var text: String {
        lineStore.count == lineStart ? "" : lineStore[lineStart...].joined(separator: "\n") + "\n"
    }

    /// Lines logged since the previous call (those still in the buffer).
    public func takeNewLines() -> [String] {
        let firstKept = lineCount - (lineStore.count - lineStart)
        let from = max(consumed, firstKept)
        let new = Array(lineStore[(lineStart + (from - firstKept))...])
        consumed = lineCount
        return new
    }

    public func clear() {
        lineStore.removeAll()
        lineBytes.removeAll()
        lineStart = 0
        usedBytes = 0
        lineCount = 0
        consumed = 0
        reportCount = 0
        reportCountsByKind.removeAll()
        firstReports.removeAll()
        lastReports.removeAll()
        lastStart = 0
        latestByKind.removeAll()
    }

    /// `%5lu.%06lu` of seconds and microseconds, as printk's time stamp.
    static func timestamp(_ ns: UInt64) -> String {
        let seconds = ns / 1_000_000_000
        let micros = (ns / 1_000) % 1_000_000
        var s = String(seconds)
        if s.count < 5 { s = String(repeating: " ", count: 5 - s.count) + s }
        var m = String(micros)
        if m.count < 6 { m = String(repeating: "0", count: 6 - m.count) + m }
        return s + "." + m
    }
}

/// The kernel log and clock as report code uses them.
extension Machine {
    /// Prints a plain kernel log line (printk) at the current simulated time.
    public func printk(_ text: String) {
        log.print(text, timeNanoseconds: clockNanoseconds)
    }

    /// Advances the simulated clock (msleep, a hung task's wait, a lockup).
    public func advanceClock(nanoseconds: UInt64) {
        clockNanoseconds &+= nanoseconds
    }

    /// `jiffies` since boot (INITIAL_JIFFIES aside), at CONFIG_HZ.
    public var jiffies: UInt64 { clockNanoseconds / (1_000_000_000 / contexts.hz) }
}
