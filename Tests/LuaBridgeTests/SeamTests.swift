import Foundation
import Testing

/// LuaBridge is the one module that talks to Lua's C API, so the rule that
/// no Lua error may longjmp across a Swift frame is kept in one place. The
/// rest of the house reaches Lua through LuaBridge's Swift API. SwiftPM
/// makes a dependency's system modules importable everywhere above it, so
/// the manifest alone cannot hold the line: this test does, and its list of
/// files still waiting to move only ever shrinks.
@Suite struct SeamTests {
    /// Files outside LuaBridge that still `import CLua` (glue and grader
    /// stack code not yet moved behind LuaBridge's API).
    static let notYetMoved: Set<String> = [
        "KernelLua/CallTraceCache.swift",
        "Lessons/Grader.swift", "Lessons/GraderTasks.swift", "Lessons/LessonState.swift",
    ]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
    }

    /// Every Swift file under Sources/ that imports CLua, relative to Sources/.
    static func importersOfCLua() throws -> Set<String> {
        var found: Set<String> = []
        let root = sources.standardizedFileURL.path
        guard let walk = FileManager.default.enumerator(atPath: root) else { return [] }
        for case let path as String in walk where path.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root + "/" + path, encoding: .utf8)
            if text.split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "import CLua" }) {
                found.insert(path)
            }
        }
        return found
    }

    @Test func onlyLuaBridgeAndFilesNotYetMovedImportCLua() throws {
        let importers = try Self.importersOfCLua()
        #expect(importers.contains { $0.hasPrefix("LuaBridge/") }, "the scan found nothing: wrong Sources path?")
        let outside = importers.filter { !$0.hasPrefix("LuaBridge/") }
        #expect(outside.subtracting(Self.notYetMoved).isEmpty,
                "these files import CLua outside LuaBridge (use LuaBridge's Swift API): \(outside.subtracting(Self.notYetMoved).sorted())")
        // The list only shrinks: a file that moved must leave it.
        #expect(Self.notYetMoved.subtracting(outside).isEmpty,
                "no longer importing CLua, remove from notYetMoved: \(Self.notYetMoved.subtracting(outside).sorted())")
        for module in ["kmlab/", "KernelSim/", "SafeOutput/", "SeededRandom/"] {
            #expect(!importers.contains { $0.hasPrefix(module) }, "\(module) must not import CLua")
        }
    }
}
