import ArgumentParser
import Foundation
import Lessons

/// `kmlab autograder ...`: kmlab on the platforms that grade one student's
/// upload at a time. `gradescope` makes the autograder bundle to upload;
/// `run` is what that bundle (or a PrairieLearn run script) calls.
struct AutograderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autograder",
        abstract: "Grade on Gradescope or PrairieLearn: make a Gradescope bundle, grade one upload.",
        discussion: "See README \"Running a course\".",
        subcommands: [AutograderGradescopeCommand.self, AutograderRunCommand.self]
    )
}

/// `kmlab autograder gradescope --lesson N -o autograder.zip`.
struct AutograderGradescopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradescope",
        abstract: "Write a Gradescope autograder bundle (setup.sh, run_autograder, kmlab, the lesson).",
        discussion: """
        The bundle grades the one file named by --pick in each student's upload
        against the lesson as it is now (the lesson file is copied into it, so
        KMLAB_LESSONS lessons work). The kmlab binary in it must not need the
        Swift toolchain: by default it is the static build `make static` writes
        (.build-static/release/kmlab in the checkout); --binary names another.
        setup.sh installs the C libraries kmlab links (Lua 5.4, readline) with apt.
        """
    )

    @Option(help: "The lesson: number, id or slug.")
    var lesson: String

    @Option(name: .shortAndLong, help: "The bundle to write (a .zip).")
    var output: String = "autograder.zip"

    @Option(help: "The file to grade in each upload.")
    var pick: String = "answers.lua"

    @Option(help: "The kmlab executable to ship (default: the static build of this checkout).")
    var binary: String?

    @Option(help: "When students see their results: \(GradescopeResults.visibilities.joined(separator: ", ")).")
    var visibility: String = "visible"

    func validate() throws {
        guard GradescopeResults.visibilities.contains(visibility) else {
            throw ValidationError("--visibility must be one of \(GradescopeResults.visibilities.joined(separator: ", ")), got '\(visibility)'")
        }
        guard AutograderBundle.isPlainFileName(pick) else {
            throw ValidationError("--pick must be a plain .lua file name such as answers.lua, got '\(pick)'")
        }
        guard output.hasSuffix(".zip") else { throw ValidationError("--output must name a .zip file, got '\(output)'") }
    }

    func run() throws {
        let lessonValue = try LessonCLI.lesson(lesson)
        let binaryPath = binary ?? AutograderBundle.defaultStaticBinary()
        guard let binaryPath, FileManager.default.isExecutableFile(atPath: binaryPath) else {
            Terminal.error("kmlab autograder: no static kmlab at \(binary ?? AutograderBundle.staticBinaryHint()): run `make static` in the kmlab checkout, or give --binary PATH")
            throw ExitCode(2)
        }
        if let libraries = AutograderBundle.swiftLibraries(of: binaryPath), !libraries.isEmpty {
            Terminal.error("kmlab autograder: warning: \(binaryPath) needs the Swift runtime (\(libraries.joined(separator: ", "))), which Gradescope's image does not have; build it with `make static`")
        }
        let bundle = AutograderBundle(lesson: lessonValue, pick: pick, visibility: visibility, toolVersion: Kmlab.version)
        do {
            try bundle.writeZip(to: output, binary: binaryPath)
        } catch {
            Terminal.error("kmlab autograder: \(error)")
            throw ExitCode(1)
        }
        Terminal.error("wrote \(output): lesson \(lessonValue.id), grading \(pick) of each upload. Upload it as the autograder of a Gradescope programming assignment (Ubuntu base image).")
    }
}

/// `kmlab autograder run --for gradescope|prairielearn ...`: grades the one
/// file --pick names in an upload directory and writes the platform's
/// results file, in every case (score 0 and the reason when nothing is
/// gradable). Graded in this process, so the full kernel reports reach the
/// student.
struct AutograderRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Grade one student's upload and write Gradescope's or PrairieLearn's results.json.",
        discussion: """
        Exit status 0 when the results file was written (whatever the score),
        2 on a usage error (unknown lesson, bad option), 1 when the results
        file cannot be written. The text report goes to stdout.
        """
    )

    @Option(name: .customLong("for"), help: "The platform: gradescope or prairielearn.")
    var platform: String

    @Option(help: "The lesson: number, id or slug.")
    var lesson: String

    @Option(help: "The upload directory (Gradescope: /autograder/submission; PrairieLearn: /grade/student).")
    var submission: String

    @Option(help: "The results file to write.")
    var out: String

    @Option(help: "The file to grade in the upload.")
    var pick: String = "answers.lua"

    @Option(help: "Gradescope: when students see their results.")
    var visibility: String = "visible"

    @Option(help: "The platform's file saying whose upload this is (Gradescope: /autograder/submission_metadata.json; PrairieLearn: /grade/data/data.json): the upload is graded as that learner's variant. Without it, or without an id in it, the lesson as written (seed 0).")
    var metadata: String?

    func validate() throws {
        guard ["gradescope", "prairielearn"].contains(platform) else {
            throw ValidationError("--for must be gradescope or prairielearn, got '\(platform)'")
        }
        guard GradescopeResults.visibilities.contains(visibility) else {
            throw ValidationError("--visibility must be one of \(GradescopeResults.visibilities.joined(separator: ", "))")
        }
        guard AutograderBundle.isPlainFileName(pick) else {
            throw ValidationError("--pick must be a plain .lua file name such as answers.lua, got '\(pick)'")
        }
    }

    func run() throws {
        let lessonValue = try LessonCLI.lesson(lesson)
        let started = DispatchTime.now().uptimeNanoseconds
        let pickResult = SubmissionPick.choose(among: SubmissionPick.files(in: submission), wanted: pick)
        var notes = pickResult.notes
        var result: SubmissionResult?
        if let file = pickResult.file {
            let path = (submission as NSString).appendingPathComponent(file)
            // A link could point at the autograder's own files (the lesson
            // and its checks): only a file the student uploaded is graded.
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
                notes.append("\(file) is a symbolic link: upload the file itself. Nothing was graded.")
            } else {
                switch SubmissionFinder.read(path).content {
                case .source(let bytes, _):
                    let (seed, note) = learnerSeed(lesson: lessonValue)
                    notes.append(note)
                    result = Grader(lesson: lessonValue, caseSecret: Grader.configuredCaseSecret())
                        .grade(source: bytes, submissionID: file, variantSeed: seed)
                case .unreadable(let why):
                    notes.append("\(file): \(why). Nothing was graded.")
                }
            }
        }
        let seconds = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000_000)
        let text: String
        if platform == "gradescope" {
            text = GradescopeResults(lesson: lessonValue, toolVersion: Kmlab.version, result: result, notes: notes,
                                     executionSeconds: seconds, visibility: visibility).render()
        } else {
            text = PrairieLearnResults.render(lesson: lessonValue, toolVersion: Kmlab.version,
                                              results: result.map { [$0] } ?? [], notes: notes)
        }
        let directory = (out as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try GradeOutput.write(text, to: out)
        // The instructor's copy (Gradescope keeps stdout hidden from students).
        var log = notes.joined(separator: "\n")
        if let result { log += (log.isEmpty ? "" : "\n") + CheckReport.render(result, lesson: lessonValue) }
        else { log += "\nscore: 0/\(lessonValue.maxScore)\n" }
        Terminal.out(Array(log.utf8))
    }

    /// The learner seed this upload is graded with, and the note that says
    /// so: `KMLAB_VARIANT_SEED` when set (an instructor pinning one variant),
    /// else derived from the platform's id of the learner and the grader
    /// secret, else 0 (the lesson as written) with the reason. The note
    /// gives the seed, so the student can see their own variant.
    func learnerSeed(lesson: Lesson, environment: [String: String] = ProcessInfo.processInfo.environment) -> (UInt64, String) {
        if let pinned = environment[LearnerSeed.environmentKey], let seed = LearnerSeed.parse(pinned) {
            return (seed, "Graded as variant seed \(seed) (\(LearnerSeed.environmentKey) is set for this autograder).")
        }
        let bytes = metadata.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
        let found = platform == "gradescope" ? PlatformLearner.gradescope(metadata: bytes) : PlatformLearner.prairieLearn(data: bytes)
        guard let id = found.id else {
            return (0, "Graded as the lesson is written (variant seed 0): \(metadata == nil ? "the autograder was given no --metadata file" : found.what), so this upload could not be matched to a learner's variant.")
        }
        let seed = Grader.variantSeed(forSubmission: id, secret: Grader.configuredCaseSecret())
        return (seed, "Graded as your own variant of the lesson (learner seed \(seed), from \(found.what)): `KMLAB_VARIANT_SEED=\(seed) kmlab lesson \(lesson.number.map(String.init) ?? lesson.id)` shows it.")
    }
}
