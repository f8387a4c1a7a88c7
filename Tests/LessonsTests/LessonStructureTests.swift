import Foundation
import Testing
@testable import Lessons

/// Every lesson loads and is well formed; its template loads and grades;
/// the copy compiled into the binary matches lessons/.
@Suite struct LessonStructureTests {
    @Test func everyLessonIsWellFormed() throws {
        let catalog = try LessonFixtures.catalog()
        #expect(catalog.lessons.count >= 1)
        #expect(Set(catalog.lessons.map(\.id)).count == catalog.lessons.count)
        for lesson in catalog.lessons {
            #expect(!lesson.title.isEmpty)
            #expect(lesson.text.count > 1500, "\(lesson.id): the text should teach")
            #expect((3...6).contains(lesson.exercises.count), "\(lesson.id): 3-6 exercises")
            #expect(lesson.exercises.contains { $0.isTask } && lesson.exercises.contains { !$0.isTask },
                    "\(lesson.id): mix questions and tasks")
            for e in lesson.exercises {
                #expect(e.points > 0)
                #expect(!e.prompt.isEmpty, "\(lesson.id) \(e.id): prompt")
                #expect(!e.hints.isEmpty, "\(lesson.id) \(e.id): hints")
            }
            #expect(FileManager.default.fileExists(atPath: LessonFixtures.lessonsDirectory
                .appendingPathComponent("solutions/\(lesson.id).lua").path), "\(lesson.id): reference solution")
            let wrong = LessonFixtures.files(in: "wrong").filter { $0.lastPathComponent.hasPrefix(lesson.id + "-") }
            #expect(wrong.count >= 2, "\(lesson.id): at least two wrong answer files")
        }
    }

    @Test func templatesLoadAndGradeToZero() throws {
        for lesson in try LessonFixtures.catalog().lessons {
            let template = AnswerTemplate.text(for: lesson)
            for e in lesson.exercises {
                if let name = e.expectedName { #expect(template.contains("function \(name)(")) }
                else { #expect(template.contains("answers.\(e.id) = ")) }
            }
            let r = Grader(lesson: lesson).grade(source: Array(template.utf8), submissionID: "template.lua")
            #expect(r.status == .graded, "\(lesson.id): \(r.json)")
            #expect(r.exercises.allSatisfy { $0.status == .fail || $0.status == .pass }, "\(lesson.id): \(r.json)")
        }
    }

    @Test func embeddedCopyMatchesTheLessonsDirectory() throws {
        let dir = LessonFixtures.lessonsDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter(LessonCatalog.isLessonFileName).sorted()
        #expect(EmbeddedLessons.files.map(\.name) == names, "the EmbedLuaFiles plugin missed or added a file")
        for (name, source) in EmbeddedLessons.files {
            let onDisk = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            #expect(source == onDisk, "\(name) differs from its embedded copy")
        }
        let builtIn = try LessonCatalog.standard(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/bin/kmlab"))
        #expect(builtIn.origin == "built-in")
        #expect(builtIn.lessons.map(\.id) == (try LessonFixtures.catalog()).lessons.map(\.id))
    }

    @Test func lessonsAreFoundFromTheEnvironmentAndBesideTheExecutable() throws {
        let fromEnv = try LessonCatalog.standard(environment: ["KMLAB_LESSONS": LessonFixtures.lessonsDirectory.path], executable: nil)
        #expect(fromEnv.origin == LessonFixtures.lessonsDirectory.path)
        let fromBuild = try LessonCatalog.standard(environment: [:],
            executable: LessonFixtures.root.appendingPathComponent(".build/debug/kmlab"))
        #expect(fromBuild.origin == LessonFixtures.lessonsDirectory.path)
    }

    @Test func lessonsAreFoundByNumberSlugOrId() throws {
        let catalog = try LessonFixtures.catalog()
        #expect(try catalog.lesson(id: "1").id == "01-first-allocations")
        #expect(try catalog.lesson(id: "01").id == "01-first-allocations")
        #expect(try catalog.lesson(id: "first-allocations").id == "01-first-allocations")
        #expect(throws: LessonError.self) { try catalog.lesson(id: "99") }
        do {
            _ = try catalog.lesson(id: "first-alocations")
        } catch let e as LessonError {
            #expect(e.description.contains("did you mean '01-first-allocations'"))
        }
    }

    @Test func aBrokenLessonFileIsReportedWithItsName() throws {
        let bad = LessonCatalog(files: [("01-x.lua", Array("return lesson{ id = '01-x', title = 't', exercises = { question{ id = 'a' } } }".utf8))], origin: "test")
        #expect(bad.lessons.isEmpty)
        #expect(bad.problems.map(\.file) == ["01-x.lua"])
        #expect(throws: LessonError.self) { try bad.lesson(id: "1") }
        let five = LessonCatalog(files: [("01-x.lua", Array("return 5".utf8))], origin: "test")
        #expect(five.problems.first?.message == "a lesson file must return lesson{...}")
        do {
            _ = try five.lesson(id: "01-x")
            Issue.record("a broken lesson was found")
        } catch let e as LessonError {
            #expect(e.description.contains("01-x.lua: a lesson file must return lesson{...}"))
        }
    }
}
