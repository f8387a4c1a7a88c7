/// The kernel log (`dmesg`): lines with the simulated time stamp, and every
/// structured report in the order it was raised.
public final class KernelLog {
    public private(set) var lines: [String] = []
    public private(set) var reports: [KernelReport] = []
    /// Lines already handed out by `takeNewLines()` (the REPL shows what is new).
    private var consumed = 0
    /// Told of every report as it is recorded, with its stamped lines
    /// (`kmlab run` and the REPL echo reports to stderr as they happen).
    public var reportObserver: ((KernelReport, [String]) -> Void)?

    public init() {}

    /// Appends one line stamped with the simulated time in nanoseconds,
    /// formatted as the kernel does: `[    1.234567] text`.
    public func print(_ text: String, timeNanoseconds: UInt64) {
        let stamp = KernelLog.timestamp(timeNanoseconds)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append("[\(stamp)] \(line)")
        }
    }

    /// Appends lines already stamped (boot messages, replayed from a cache).
    func appendStamped(_ stamped: ArraySlice<String>) { lines.append(contentsOf: stamped) }

    /// Records a report and prints its lines.
    public func record(_ report: KernelReport, timeNanoseconds: UInt64) {
        reports.append(report)
        let before = lines.count
        print(report.text, timeNanoseconds: timeNanoseconds)
        reportObserver?(report, Array(lines[before...]))
    }

    /// The whole log as `dmesg` prints it.
    public var text: String { lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n" }

    /// Lines logged since the previous call.
    public func takeNewLines() -> [String] {
        let new = Array(lines[consumed...])
        consumed = lines.count
        return new
    }

    public func clear() {
        lines.removeAll()
        reports.removeAll()
        consumed = 0
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
