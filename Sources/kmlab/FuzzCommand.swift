import ArgumentParser
import Foundation
import SeededRandom

/// `kmlab fuzz` (hidden; `make fuzz`): generates random kernel-API scripts
/// (FuzzGenerator), runs each in a child `kmlab run` (every tenth under
/// `kmlab check`, the grading path), and flags an exit by signal (a crash
/// or a Swift trap), a hang, memory past the budget, and output that
/// differs between two runs of the same script in different surroundings.
/// Each failure is minimised to a reproducer file.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz the kernel API with random scripts (for kmlab's developers).",
        shouldDisplay: false
    )

    @Option(help: "Seed of the generator: the same seed gives the same scripts.")
    var seed: UInt64 = 1

    @Option(help: "Number of scripts to generate and run.")
    var count: Int = 100

    @Option(help: "Directory for minimised reproducers of failures.")
    var out: String = "fuzz/crashes"

    @Option(name: .customLong("repeat-every"), help: "Run every Nth case twice and compare the output (1: all).")
    var repeatEvery: Int = 1

    @Option(help: "Seconds after which a case counts as a hang.")
    var timeout: Double = 30

    @Option(help: "The kmlab binary to fuzz (default: this one).")
    var kmlab: String?

    @Flag(name: .customLong("no-minimize"), help: "Write failing scripts as generated.")
    var noMinimize = false

    @Option(name: .customLong("skip"), help: "Leave out generated statements that mention this text (repeatable).")
    var skip: [String] = []

    @Flag(name: .customLong("no-hazards"), help: "Random calls only, without the bug-class ingredients (to compare).")
    var noHazards = false

    @Option(help: "Write the generated scripts into this directory (case-N.lua) instead of running them.")
    var emit: String?

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
        guard repeatEvery >= 1 else { throw ValidationError("--repeat-every must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let names = try FuzzGenerator.documentedNames()
        if let emit {
            try FileManager.default.createDirectory(atPath: emit, withIntermediateDirectories: true)
            for i in 0..<count {
                try FuzzCommand.source(statements(names, case: i)).write(toFile: emit + "/case-\(i).lua", atomically: true, encoding: .utf8)
            }
            print("fuzz: seed \(seed), \(count) scripts written to \(emit)")
            return
        }
        let work = NSTemporaryDirectory() + "kmlab-fuzz-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let runner = FuzzRunner(kmlab: kmlab ?? GradeWorkerCommand.executablePath(), workDirectory: work, timeout: timeout)
        var failures: [(Int, FuzzFailure, String)] = []
        var runs = 0
        for i in 0..<count {
            let statements = statements(names, case: i)
            let mode: FuzzRunner.Mode = i % 10 == 9 ? .check : .run
            let twice = i % repeatEvery == 0
            runs += twice ? 2 : 1
            guard let failure = runner.check(FuzzCommand.source(statements), mode: mode, twice: twice) else { continue }
            var kept = statements
            if !noMinimize {
                let quick = FuzzRunner(kmlab: runner.kmlab, workDirectory: work, timeout: min(timeout, 10))
                kept = FuzzMinimizer.minimize(statements) { candidate in
                    runs += twice ? 2 : 1
                    let f = quick.check(FuzzCommand.source(candidate), mode: mode, twice: twice)
                    return f?.kind == failure.kind
                }
            }
            let file = try writeReproducer(case: i, failure: failure, mode: mode, from: statements.count, statements: kept)
            failures.append((i, failure, file))
            print("case \(i): \(failure) -> \(file)")
            fflush(stdout)
        }
        print("fuzz: seed \(seed), \(count) cases (\(runs) runs of kmlab), \(failures.count) failures")
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// Case `i`'s statements (those mentioning a --skip text left out).
    func statements(_ names: [FuzzAPIName], case i: Int) -> [String] {
        var g = FuzzGenerator(names: names, seed: FuzzCommand.caseSeed(seed, i))
        g.hazards = !noHazards
        return g.script(statements: 10 + g.pick(30)).filter { s in !skip.contains { s.contains($0) } }
    }

    static func caseSeed(_ seed: UInt64, _ i: Int) -> UInt64 {
        var g = SplitMix64(state: seed &* 0x100000001B3 ^ UInt64(i))
        return g.next()
    }

    static func source(_ statements: [String]) -> String {
        FuzzGenerator.prologue + "\n" + statements.joined(separator: "\n") + "\n"
    }

    func writeReproducer(case i: Int, failure: FuzzFailure, mode: FuzzRunner.Mode, from total: Int,
                         statements: [String]) throws -> String {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = out + "/\(failure.kind)-seed\(seed)-case\(i).lua"
        let how = mode == .run
            ? "kmlab run --max-instructions \(FuzzRunner.maxInstructions) --max-memory \(FuzzRunner.maxMemoryMiB)M \(path)"
            : "kmlab check 1 \(path)"
        let header = """
        -- kmlab fuzz: \(failure)
        -- found by: kmlab fuzz --seed \(seed) (case \(i)); \(statements.count) of \(total) statements kept
        -- reproduce: \(how)

        """
        try (header + FuzzCommand.source(statements)).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
