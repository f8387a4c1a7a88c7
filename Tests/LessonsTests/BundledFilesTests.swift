import Foundation
import Testing
@testable import Lessons

/// The solutions and examples built into the binary (the EmbedLuaFiles build plugin) are
/// the files on disk, and a catalog with no directory beside it (a copied
/// binary) still finds them.
@Suite struct BundledFilesTests {
    let root = LessonFixtures.lessonsDirectory.deletingLastPathComponent()

    func files(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)
            .filter { $0.hasSuffix(".lua") }.sorted()
    }

    @Test func embeddedSolutionsMatchTheDirectory() throws {
        let names = try files("lessons/solutions").filter(LessonCatalog.isLessonFileName)
        #expect(EmbeddedSolutions.files.map(\.name) == names, "the EmbedLuaFiles plugin missed or added a file")
        for (name, source) in EmbeddedSolutions.files {
            let disk = try String(contentsOf: root.appendingPathComponent("lessons/solutions/" + name), encoding: .utf8)
            #expect(source == disk, "\(name) differs from its embedded copy")
        }
    }

    @Test func embeddedExamplesMatchTheDirectory() throws {
        #expect(EmbeddedExamples.files.map(\.name) == (try files("examples")), "the EmbedLuaFiles plugin missed or added a file")
        for (name, source) in EmbeddedExamples.files {
            let disk = try String(contentsOf: root.appendingPathComponent("examples/" + name), encoding: .utf8)
            #expect(source == disk, "\(name) differs from its embedded copy")
        }
    }

    @Test func embeddedGradingDriverIsTheLuaFile() throws {
        let disk = try String(contentsOf: root.appendingPathComponent("Sources/Lessons/Driver/grading-driver.lua"), encoding: .utf8)
        #expect(GradingDriver.source == disk)
        #expect(GradingDriver.bytes == Array(disk.utf8))
    }

    /// The driver is plain Lua now, so luacheck reads it as it reads lessons:
    /// an unused local or a misspelt global there is a grading bug.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/luacheck")))
    func gradingDriverPassesLuacheck() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/luacheck")
        p.arguments = ["--no-color", "--codes", root.appendingPathComponent("Sources/Lessons/Driver/grading-driver.lua").path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
    }

    @Test func aBuiltInCatalogHasEverySolutionAndTheExamples() throws {
        let builtIn = try LessonCatalog.standard(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/bin/kmlab"))
        #expect(builtIn.origin == "built-in")
        for lesson in builtIn.lessons {
            let text = BundledFiles.solution(for: lesson, catalog: builtIn)
            #expect(text?.isEmpty == false, "\(lesson.id) has no solution")
        }
        #expect(BundledFiles.example("nic", catalog: builtIn)?.name == "nic.lua")
        #expect(BundledFiles.example("../README.md", catalog: builtIn) == nil)
        #expect(BundledFiles.exampleNames(catalog: builtIn) == ["nic.lua"])
    }
}
