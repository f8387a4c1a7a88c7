/// What a batch run grades with, as far as combining results goes: the
/// first line of a results file, and the fields every record repeats.
/// Results of runs with different descriptions never mix: `--resume`
/// refuses a results file of another run, `--merge` refuses to combine them.
public struct ResultsHeader: Codable, Equatable, Sendable {
    /// Always 1: tells a header line from a record.
    public var kmlabResults: Int = 1
    public var kmlab: String
    public var lesson: String
    public var lessonSHA256: String
    public var limits: String
    public var shard: String?
    public var options: String?
    /// `Grader.secretFingerprint` of the grader secret the run used (it
    /// draws every task's cases and, without --variant-seed, every
    /// learner's seed): a resumed or merged run must use the same one.
    public var secret: String?

    public init(kmlab: String, lesson: String, lessonSHA256: String, limits: String, shard: String?, options: String?,
                secret: String? = nil) {
        self.kmlab = kmlab
        self.lesson = lesson
        self.lessonSHA256 = lessonSHA256
        self.limits = limits
        self.shard = shard
        self.options = options?.isEmpty == true ? nil : options
        self.secret = secret
    }

    /// The description a record carries.
    public init(_ r: GradeRecord) {
        self.init(kmlab: r.kmlab, lesson: r.lesson, lessonSHA256: r.lessonSHA256, limits: r.limits, shard: r.shard, options: r.options,
                  secret: r.secretFingerprint)
    }

    enum CodingKeys: String, CodingKey {
        case kmlabResults = "kmlab_results"
        case kmlab, lesson
        case lessonSHA256 = "lesson_sha256"
        case limits, shard, options
        case secret = "secret_fingerprint"
    }

    public var line: String {
        var s = "{\"kmlab_results\":1,\"kmlab\":\(JSONText.string(kmlab)),\"lesson\":\(JSONText.string(lesson)),\"lesson_sha256\":\(JSONText.string(lessonSHA256)),\"limits\":\(JSONText.string(limits))"
        if let shard { s += ",\"shard\":\(JSONText.string(shard))" }
        if let options { s += ",\"options\":\(JSONText.string(options))" }
        if let secret { s += ",\"secret_fingerprint\":\(JSONText.string(secret))" }
        return s + "}\n"
    }

    /// Everything but the shard.
    func sameRun(_ o: ResultsHeader) -> Bool {
        kmlab == o.kmlab && lesson == o.lesson && lessonSHA256 == o.lessonSHA256 && limits == o.limits && options == o.options
            && secret == o.secret
    }

    /// For messages: `lesson 01-first-allocations (kmlab 0.1.0, budgets ..., shard 2/3, --pick answers.lua)`.
    public var summary: String {
        var parts = ["kmlab \(kmlab)", limits]
        if let shard { parts.append("shard \(shard)") }
        if let options { parts.append(options) }
        if let secret { parts.append("grader secret \(secret)") }
        return "lesson \(lesson) (\(parts.joined(separator: ", ")))"
    }
}

/// Checks on combining results files.
public enum ResultsSet {
    /// `--resume`: the results file must come from the same run (lesson and
    /// its text, kmlab version, budgets, shard, `--id-from`/`--pick`).
    /// `--timeout` may differ: that is what resuming after timeouts is for.
    public static func checkResumable(path: String, headers: [ResultsHeader], records: [GradeRecord], current: ResultsHeader) throws(BatchError) {
        let seen = headers + records.map(ResultsHeader.init)
        // The secret first, in its own words: every other difference shows
        // in the command line, this one only in the environment.
        if let other = seen.first(where: { $0.secret != current.secret }) {
            let was = other.secret.map { "the grader secret with fingerprint \($0)" } ?? "no recorded grader secret (an older kmlab)"
            let now = current.secret.map { "fingerprint \($0)" } ?? "none"
            throw .usage("--resume: \(path) was graded with \(was), but this run's KMLAB_GRADER_SECRET has \(now): the cases and learner seeds would differ. Set KMLAB_GRADER_SECRET as it was for the interrupted run, or leave out --resume to grade afresh")
        }
        guard let other = seen.first(where: { !$0.sameRun(current) || $0.shard != current.shard }) else { return }
        throw .usage("--resume: \(path) holds results of \(other.summary), not of this run's \(current.summary); give another --results file, or leave out --resume to start afresh")
    }

    /// `--merge`: every file from the same run; when shards were graded,
    /// every shard of the same N exactly once (missing shards are an error
    /// unless `allowPartial`), and no submission in two shards. Returns the
    /// records (a submission in several unsharded files counts once, the
    /// last one read) and notes for stderr.
    public static func merge(_ files: [(path: String, headers: [ResultsHeader], records: [GradeRecord])], allowPartial: Bool)
        throws(BatchError) -> (records: [GradeRecord], notes: [String]) {
        var first: (path: String, run: ResultsHeader)?
        var shardOf: [String: String] = [:]  // shard -> path
        var unsharded: [String] = []
        var counts = Set<Int>()
        for f in files {
            let runs = f.headers + f.records.map(ResultsHeader.init)
            for r in runs {
                if let seen = first {
                    guard seen.run.sameRun(r) else {
                        throw .usage("\(f.path): results of \(r.summary) cannot be merged with results of \(seen.run.summary) from \(seen.path)")
                    }
                } else {
                    first = (f.path, r)
                }
            }
            let shards = Set(runs.map { $0.shard ?? "" })
            guard shards.count <= 1 else { throw .usage("\(f.path) mixes results of several shards (\(shards.sorted().joined(separator: ", ")))") }
            guard let shard = shards.first, !shard.isEmpty else {
                if !runs.isEmpty { unsharded.append(f.path) }
                continue
            }
            if let other = shardOf[shard] {
                throw .usage("shard \(shard) is in both \(other) and \(f.path): give each shard's results once")
            }
            shardOf[shard] = f.path
            if let s = Shard(shard) { counts.insert(s.count) }
        }
        var notes: [String] = []
        if !shardOf.isEmpty {
            if !unsharded.isEmpty {
                throw .usage("cannot merge shards with the results of an unsharded run (\(unsharded.joined(separator: ", ")))")
            }
            guard counts.count == 1, let n = counts.first else {
                throw .usage("the shards were cut in different ways (\(shardOf.keys.sorted().joined(separator: ", "))): merge shards of one --shard K/N series")
            }
            let missing = (1...n).map { "\($0)/\(n)" }.filter { shardOf[$0] == nil }
            if !missing.isEmpty {
                let text = "missing shard\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) of \(n)"
                guard allowPartial else {
                    throw .usage("\(text): give every shard's results file (or --allow-partial for a report on the shards there are)")
                }
                notes.append("\(text): the report covers only the shards given (--allow-partial)")
            }
        }
        var byID: [String: GradeRecord] = [:]
        var shardByID: [String: String] = [:]
        for f in files {
            for r in f.records {
                if let s = r.shard, let before = shardByID[r.result.id], before != s {
                    throw .usage("\(r.result.id) was graded in shard \(before) and in shard \(s): the shards overlap (were they cut from different lists?)")
                }
                if let s = r.shard { shardByID[r.result.id] = s }
                byID[r.result.id] = r
            }
        }
        return (Array(byID.values), notes)
    }
}
