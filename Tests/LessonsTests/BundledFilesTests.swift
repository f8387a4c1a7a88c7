import Foundation
import Testing
@testable import Lessons

/// The solutions and examples built into the binary (lessons/embed.sh) are
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
        #expect(EmbeddedSolutions.files.map(\.name) == names, "run lessons/embed.sh")
        for (name, source) in EmbeddedSolutions.files {
            let disk = try String(contentsOf: root.appendingPathComponent("lessons/solutions/" + name), encoding: .utf8)
            #expect(source == disk, "\(name) changed: run lessons/embed.sh")
        }
    }

    @Test func embeddedExamplesMatchTheDirectory() throws {
        #expect(EmbeddedExamples.files.map(\.name) == (try files("examples")), "run lessons/embed.sh")
        for (name, source) in EmbeddedExamples.files {
            let disk = try String(contentsOf: root.appendingPathComponent("examples/" + name), encoding: .utf8)
            #expect(source == disk, "\(name) changed: run lessons/embed.sh")
        }
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
