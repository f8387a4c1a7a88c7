import Foundation

/// Helpers for the `kmlab grade` tests: a class of submissions in a scratch
/// directory, the batch run as a child process, and the JSON report read back.
enum GradeFixtures {
    static let reference = (try? String(contentsOf: KmlabProcess.packageRoot.appendingPathComponent("lessons/solutions/01-first-allocations.lua"), encoding: .utf8)) ?? ""

    /// Budgets small enough to keep hostile submissions quick in a debug build;
    /// the reference solution passes well within them.
    static let budgets = ["--max-instructions", "2000000", "--max-memory", "32M"]

    /// A submission that burns CPU at top level for a while (tenths of a
    /// second in a debug build) and then answers everything correctly.
    static func slowGood(_ n: Int) -> String {
        "local x = 0 for i = 1, \(n) do x = x + i end\n" + reference
    }

    /// The report's submissions, by id.
    static func submissions(_ json: String) throws -> [String: [String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let list = object?["submissions"] as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func exercises(_ s: [String: Any]?) -> [[String: Any]] { s?["exercises"] as? [[String: Any]] ?? [] }

    /// Every file below `dir`, relative, sorted.
    static func files(_ dir: URL) -> [String] {
        (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).sorted()
    }

    /// The result records of a results file (its header line left out).
    static func lines(_ path: URL) -> [Substring] {
        ((try? String(contentsOf: path, encoding: .utf8)) ?? "").split(separator: "\n").filter { !$0.hasPrefix("{\"kmlab_results\":") }
    }
}

/// A `kmlab` child that the test can signal while it runs.
final class RunningKmlab {
    let process = Process()
    private let outFile: URL

    init(_ arguments: [String], in directory: URL) throws {
        outFile = directory.appendingPathComponent("stdout-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        process.executableURL = KmlabProcess.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = pinnedSeed(ProcessInfo.processInfo.environment)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
    }

    /// The worker processes the batch started (its children).
    var workers: [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/task")) ?? []
        return tasks.flatMap { t -> [pid_t] in
            let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(t)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// Waits (polling, up to `seconds`) until `condition` holds.
    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func finish() -> (status: Int32, stdout: String) {
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: outFile, encoding: .utf8)) ?? "")
    }
}
