import Foundation

/// One line of a results file: a submission's result with what it was
/// graded against. `--resume` reuses a record only when every field of
/// its `key` matches (same file content, lesson text, kmlab version and
/// budgets); feedback names the file, so the id is part of the key too.
public struct GradeRecord: Codable, Equatable, Sendable {
    public var kmlab: String
    public var lesson: String
    public var lessonSHA256: String
    public var limits: String
    public var sha256: String
    /// Wall-clock milliseconds the grading took (shown only with `--timings`).
    public var ms: Int
    public var result: SubmissionResult
    /// The student the submission belongs to (`--id-from`), if known.
    public var student: String?
    /// The result says more about the grading host than the submission: the
    /// wall clock ran out or the worker crashed (twice). `--resume` grades
    /// such a submission again (under another `--timeout`, on a quieter
    /// machine, it may well finish).
    public var hostFailure: Bool?
    /// `K/N` when graded as one shard of a class.
    public var shard: String?
    /// What `--id-from` and `--pick` were (see `BatchSettings.options`).
    public var options: String?
    /// The source's `Fingerprint` (for the report's duplicates section).
    public var fingerprint: String?
    /// The grader secret's fingerprint (see `ResultsHeader.secret`).
    public var secretFingerprint: String?

    public init(kmlab: String, lesson: String, lessonSHA256: String, limits: String, sha256: String, ms: Int,
                result: SubmissionResult, student: String? = nil, hostFailure: Bool? = nil, shard: String? = nil, options: String? = nil,
                fingerprint: String? = nil, secretFingerprint: String? = nil) {
        self.kmlab = kmlab
        self.lesson = lesson
        self.lessonSHA256 = lessonSHA256
        self.limits = limits
        self.sha256 = sha256
        self.ms = ms
        self.result = result
        self.student = student
        self.hostFailure = hostFailure
        self.shard = shard
        self.options = options
        self.fingerprint = fingerprint
        self.secretFingerprint = secretFingerprint
    }

    enum CodingKeys: String, CodingKey {
        case kmlab, lesson
        case lessonSHA256 = "lesson_sha256"
        case limits, sha256, ms, result, student, shard, options, fingerprint
        case hostFailure = "host_failure"
        case secretFingerprint = "secret_fingerprint"
    }

    /// Whether `--resume` may keep this result instead of grading again.
    public var reusable: Bool {
        hostFailure != true && result.status != .graderError
            && !result.exercises.contains { $0.status == .graderError }
    }

    public var key: String { [result.id, sha256, lesson, lessonSHA256, kmlab, limits].joined(separator: "\u{0}") }

    /// One JSON line, keys in a fixed order.
    public var line: String {
        var s = "{\"kmlab\":\(JSONText.string(kmlab)),\"lesson\":\(JSONText.string(lesson)),\"lesson_sha256\":\(JSONText.string(lessonSHA256)),\"limits\":\(JSONText.string(limits)),\"sha256\":\(JSONText.string(sha256)),\"ms\":\(ms)"
        if let shard { s += ",\"shard\":\(JSONText.string(shard))" }
        if let options, !options.isEmpty { s += ",\"options\":\(JSONText.string(options))" }
        if let student { s += ",\"student\":\(JSONText.string(student))" }
        if let fingerprint { s += ",\"fingerprint\":\(JSONText.string(fingerprint))" }
        if let secretFingerprint { s += ",\"secret_fingerprint\":\(JSONText.string(secretFingerprint))" }
        if hostFailure == true { s += ",\"host_failure\":true" }
        return s + ",\"result\":\(result.json)}\n"
    }
}

/// The JSON Lines file results are appended to as soon as they are known.
///
/// Each record is written with one `write`, so a kill of kmlab at any moment
/// leaves every earlier record intact (the kernel has it) and at most a torn
/// last line, which `read` ignores and `open(resuming:)` cuts off before
/// appending. Against a crash of the whole machine the file is `fsync`ed as
/// a group commit: at most every `syncInterval` (and when closed), so a
/// thousand results do not cost a thousand disk flushes.
public final class ResultsFile {
    public let path: String
    private let fd: Int32
    /// The longest a written record waits for its fsync.
    public static let syncInterval: UInt64 = 50_000_000
    private var lastSync: UInt64 = 0

    /// Opens `path` for appending: emptied first unless `resuming`. A file
    /// that is empty then starts with `header` (so even a shard that got no
    /// submissions says which shard it is).
    public init(path: String, resuming: Bool, header: ResultsHeader? = nil) throws {
        self.path = path
        // A device or FIFO (`--results /dev/null`) is written as it is; it
        // cannot be read back, repaired or resumed.
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && st.st_mode & S_IFMT == S_IFDIR {
            throw BatchError.io("cannot open the results file \(path): it is a directory (give a file name)")
        }
        let regular = !exists || st.st_mode & S_IFMT == S_IFREG
        if resuming && !regular {
            throw BatchError.io("cannot resume from the results file \(path): it is not a regular file")
        }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resuming ? 0 : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw BatchError.io("cannot open the results file \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        if resuming {
            // Drop a torn last line so the next record starts on a line of its own.
            let keep = ResultsFile.completeLength(path)
            if ftruncate(fd, off_t(keep)) != 0 {
                close(fd)
                throw BatchError.io("cannot repair the results file \(path): \(String(cString: strerror(errno)))")
            }
        }
        let end = lseek(fd, 0, SEEK_END)
        if let header, end <= 0 {
            try write(Array(header.line.utf8))
        }
    }

    deinit {
        fsync(fd)
        close(fd)
    }

    public func append(_ record: GradeRecord) throws {
        try write(Array(record.line.utf8))
    }

    private func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BatchError.io("cannot write the results file \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if now &- lastSync >= Self.syncInterval {
            fsync(fd)
            lastSync = now
        }
    }

    /// The length of the file up to and including its last newline.
    static func completeLength(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        guard let last = data.lastIndex(of: UInt8(ascii: "\n")) else { return 0 }
        return last - data.startIndex + 1
    }

    /// The records of a results file in file order; lines that are not a
    /// complete record (a torn last line, anything else) are skipped and
    /// counted.
    public static func read(_ path: String) throws -> (records: [GradeRecord], skipped: Int) {
        let c = try contents(path)
        return (c.records, c.skipped)
    }

    /// The headers and records of a results file (see `read`).
    public static func contents(_ path: String) throws -> (headers: [ResultsHeader], records: [GradeRecord], skipped: Int) {
        var st = stat()
        if stat(path, &st) == 0 && st.st_mode & S_IFMT != S_IFREG {
            throw BatchError.io("cannot read the results file \(path): it is not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError.io("cannot read the results file \(path)")
        }
        let decoder = JSONDecoder()
        var records: [GradeRecord] = []
        var headers: [ResultsHeader] = []
        var skipped = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let r = try? decoder.decode(GradeRecord.self, from: Data(line)) {
                records.append(r)
            } else if let h = try? decoder.decode(ResultsHeader.self, from: Data(line)) {
                headers.append(h)
            } else {
                skipped += 1
            }
        }
        return (headers, records, skipped)
    }
}

public enum BatchError: Error, CustomStringConvertible, Equatable {
    /// Reading or writing the results or report failed.
    case io(String)
    /// The worker processes could not be started or kept running.
    case workers(String)
    /// The command line or the results files do not make sense together.
    case usage(String)

    public var description: String {
        switch self {
        case .io(let m), .workers(let m), .usage(let m): return m
        }
    }
}
