import Foundation

/// The pipe protocol between `kmlab grade` and its `kmlab grade-worker`
/// processes.
///
/// To the worker (its stdin): first the lesson, as a header line
/// `lesson CHUNKNAME_BYTES SOURCE_BYTES` followed by the raw bytes (so the
/// worker grades with exactly the lesson text the parent loaded, and loads
/// no other lesson); then per job a header line
/// `job SEQ ID_BYTES SOURCE_BYTES` followed by the id's and the source's
/// raw bytes (no escaping, so any source arrives unchanged). The pool may
/// send a second job while the worker grades one (`WorkerProcess.send`): the
/// worker simply reads it when it is done, so it never waits for the pool.
///
/// From the worker (its stdout), JSON lines: `{"ready":true}` once the
/// lesson is loaded; `{"seq":N,"exercise":{...}}` for each exercise as soon
/// as it is judged; `{"seq":N,"result":{...}}` when the submission is done.
/// A worker may leave between jobs (see `GradeWorker.run`'s `recycleRSS`):
/// its last result line then also has `"recycling":true`, and it exits; the
/// pool starts another and sends it any job that was waiting.
enum WorkerProtocol {
    static func lessonFrame(_ lesson: Lesson) -> [UInt8] {
        let name = Array(lesson.chunkName.utf8)
        return Array("lesson \(name.count) \(lesson.source.count)\n".utf8) + name + lesson.source
    }

    static func jobHeader(seq: Int, id: [UInt8], source: [UInt8]) -> [UInt8] {
        Array("job \(seq) \(id.count) \(source.count)\n".utf8)
    }

    static let ready = "{\"ready\":true}\n"

    static func exerciseLine(seq: Int, _ e: ExerciseResult) -> String {
        "{\"seq\":\(seq),\"exercise\":\(e.json)}\n"
    }

    static func resultLine(seq: Int, _ r: SubmissionResult, leaving: Bool = false) -> String {
        "{\"seq\":\(seq),\"result\":\(r.json)\(leaving ? ",\"recycling\":true" : "")}\n"
    }

    struct Message: Decodable {
        var ready: Bool?
        var recycling: Bool?
        var seq: Int?
        var exercise: ExerciseResult?
        var result: SubmissionResult?
        /// An exercise line kept undecoded (see `WorkerProcess.partialLines`).
        var exerciseLine: Data?

        enum CodingKeys: String, CodingKey { case ready, recycling, seq, exercise, result }

        init(seq: Int, exerciseLine: Data) {
            self.seq = seq
            self.exerciseLine = exerciseLine
        }
    }

    /// The sequence number of an `exerciseLine` (`{"seq":N,"exercise":...`),
    /// or nil for any other line.
    static func exerciseLineSeq(_ line: Data) -> Int? {
        let head = Array("{\"seq\":".utf8), tail = Array(",\"exercise\":".utf8)
        guard line.starts(with: head) else { return nil }
        var i = line.startIndex + head.count
        var seq = 0, digits = 0
        while i < line.endIndex, let d = Int(exactly: line[i]) , d >= 48, d <= 57, digits < 18 {
            seq = seq * 10 + (d - 48)
            digits += 1
            i += 1
        }
        guard digits > 0, line[i...].starts(with: tail) else { return nil }
        return seq
    }
}

/// The worker side: reads the lesson, then grades jobs from `input` one
/// after another with one `Grader`, writing results to `output`. Returns
/// when `input` closes, or after a job that left the process's resident
/// memory above `recycleRSS` bytes (0: never): state that outlives a check
/// (a leak anywhere below) then costs a fresh process, not unbounded memory.
public enum GradeWorker {
    /// `variantSeed`: every submission graded as that learner; nil: each
    /// as the learner of its id (`Grader.variantSeed(forSubmission:secret:)`).
    public static func run(limits: GradingLimits, input: Int32, output: Int32, recycleRSS: Int = 0,
                           crashMarker: [UInt8]? = nil, variantSeed: UInt64? = nil,
                           caseSecret: UInt64 = Grader.defaultCaseSecret) throws {
        var reader = FDReader(fd: input)
        guard let header = reader.line() else { return }
        let parts = header.split(separator: " ")
        guard parts.count == 3, parts[0] == "lesson", let nameCount = Int(parts[1]), let sourceCount = Int(parts[2]),
              nameCount >= 0, sourceCount >= 0,
              let name = reader.bytes(nameCount), let source = reader.bytes(sourceCount) else {
            throw BatchError.workers("grade-worker: expected the lesson first on stdin")
        }
        let lesson = try LessonCatalog.load(source: source, chunkName: String(decoding: name, as: UTF8.self))
        serve(Grader(lesson: lesson, limits: limits, caseSecret: caseSecret), reader: &reader, output: output,
              recycleRSS: recycleRSS, crashMarker: crashMarker, variantSeed: variantSeed)
    }

    static func serve(_ grader: Grader, reader: inout FDReader, output: Int32, recycleRSS: Int, crashMarker: [UInt8]?,
                      variantSeed: UInt64? = nil) {
        writeAll(output, Array(WorkerProtocol.ready.utf8))
        while let header = reader.line() {
            let parts = header.split(separator: " ")
            guard parts.count == 4, parts[0] == "job", let seq = Int(parts[1]),
                  let idCount = Int(parts[2]), let sourceCount = Int(parts[3]),
                  idCount >= 0, sourceCount >= 0,
                  let idBytes = reader.bytes(idCount), let source = reader.bytes(sourceCount) else { return }
            if let crashMarker, !crashMarker.isEmpty, contains(source, crashMarker) {
                // Test hook (KMLAB_GRADE_TEST_CRASH): die as a trap would
                // (past any crash handler the runtime installed).
                signal(SIGSEGV, SIG_DFL)
                kill(getpid(), SIGSEGV)
            }
            let id = String(decoding: idBytes, as: UTF8.self)
            let seed = variantSeed ?? Grader.variantSeed(forSubmission: id, secret: grader.caseSecret)
            let result = grader.grade(source: source, submissionID: id, variantSeed: seed) { e in
                writeAll(output, Array(WorkerProtocol.exerciseLine(seq: seq, e).utf8))
            }
            // Leaving is said in the result's own line, so that the pool
            // knows before it could send another job.
            let leaving = recycleRSS > 0 && residentBytes() > recycleRSS
            writeAll(output, Array(WorkerProtocol.resultLine(seq: seq, result, leaving: leaving).utf8))
            if leaving { return }
        }
    }

    /// The process's resident set now (from /proc/self/statm), in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages &* Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == first {
            if haystack[i..<i + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }
}

/// Writes every byte (retrying short writes and EINTR); false on failure.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        written += n
    }
    return true
}

/// Buffered blocking reads of lines and byte counts from a file descriptor.
struct FDReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    init(fd: Int32) { self.fd = fd }

    private mutating func fill() -> Bool {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    mutating func line() -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let s = String(decoding: buffer[start..<nl], as: UTF8.self)
                start = nl + 1
                return s
            }
            guard fill() else { return nil }
        }
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        while buffer.count - start < count {
            guard fill() else { return nil }
        }
        let out = Array(buffer[start..<start + count])
        start += count
        return out
    }
}
