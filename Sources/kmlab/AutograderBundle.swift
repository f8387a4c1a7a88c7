import Foundation
import SafeOutput
import Lessons

/// The files of a Gradescope autograder bundle, and the zip that holds them.
///
/// Gradescope unpacks the zip into /autograder/source, runs `setup.sh` there
/// once when it builds the image, and for each upload copies
/// `run_autograder` to /autograder and runs it, with the student's files in
/// /autograder/submission; the results go to /autograder/results/results.json.
/// The scripts take the root from `AUTOGRADER_ROOT` (default /autograder) so
/// that the bundle can be tried in a scratch directory.
struct AutograderBundle {
    let lesson: Lesson
    let pick: String
    let visibility: String
    let toolVersion: String

    /// The lesson file's name inside the bundle's lessons/ directory.
    var lessonFileName: String { lesson.id + ".lua" }

    /// Installs the C libraries kmlab links dynamically (the Swift runtime is
    /// inside the static binary). Ubuntu 24.04 renamed libreadline8 to
    /// libreadline8t64; either will do.
    var setupScript: String {
        """
        #!/usr/bin/env bash
        # Gradescope runs this once, as root, in /autograder/source, when it builds
        # the autograder image. Made by kmlab \(toolVersion) `kmlab autograder gradescope`.
        set -eu
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq liblua5.4-0
        apt-get install -y -qq libreadline8t64 || apt-get install -y -qq libreadline8
        root="${AUTOGRADER_ROOT:-/autograder}"
        chmod +x "$root/source/kmlab" "$root/source/run_autograder"
        "$root/source/kmlab" --version

        """
    }

    /// Grades one upload. results.json is written whatever happens: by kmlab,
    /// or here if kmlab could not run at all.
    var runScript: String {
        """
        #!/usr/bin/env bash
        # Gradescope runs this for every upload. Lesson \(lesson.id); grades
        # \(pick) of the upload. Made by kmlab \(toolVersion) `kmlab autograder gradescope`.
        root="${AUTOGRADER_ROOT:-/autograder}"
        results="$root/results/results.json"
        mkdir -p "$root/results"
        rm -f "$results"
        KMLAB_LESSONS="$root/source/lessons" XDG_STATE_HOME="$root/source/.state" \\
          "$root/source/kmlab" autograder run --for gradescope --lesson \(shellQuoted(lesson.id)) \\
            --pick \(shellQuoted(pick)) --visibility \(shellQuoted(visibility)) \\
            --submission "$root/submission" --metadata "$root/submission_metadata.json" --out "$results"
        status=$?
        if [ ! -s "$results" ]; then
          # kmlab did not run (a missing library?) or crashed: a score of 0 and
          # a message, never an autograder failure without results.
          printf '%s\\n' '{"score":0,"output":"The kmlab autograder failed (exit status '"$status"') before writing results; tell your instructor. Your submission was not graded.","visibility":"visible","stdout_visibility":"hidden","tests":[]}' > "$results"
        fi
        exit 0

        """
    }

    /// Writes the bundle to `path` (a .zip) through a scratch directory, the
    /// `zip` program and `OutputFile` (atomically for a regular file).
    func writeZip(to path: String, binary: String) throws {
        let fm = FileManager.default
        let staging = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kmlab-autograder-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging.appendingPathComponent("lessons"), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        func write(_ name: String, _ text: String, executable: Bool) throws {
            let url = staging.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            try fm.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: url.path)
        }
        try write("setup.sh", setupScript, executable: true)
        try write("run_autograder", runScript, executable: true)
        try write("lessons/" + lessonFileName, String(decoding: lesson.source, as: UTF8.self), executable: false)
        try fm.copyItem(atPath: URL(fileURLWithPath: binary).resolvingSymlinksInPath().path, toPath: staging.appendingPathComponent("kmlab").path)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging.appendingPathComponent("kmlab").path)
        guard let zip = ["/usr/bin/zip", "/bin/zip", "/usr/local/bin/zip"].first(where: fm.isExecutableFile) else {
            throw BundleError("the zip program is needed to write the bundle (apt-get install zip)")
        }
        // zip writes into the staging directory; OutputFile puts the bundle
        // in place (atomically for a regular file, in place for a device).
        let temporary = staging.appendingPathComponent("bundle.zip").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zip)
        process.currentDirectoryURL = staging
        process.arguments = ["-q", "-r", "-X", temporary, "setup.sh", "run_autograder", "kmlab", "lessons"]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let zipped = fm.contents(atPath: temporary) else {
            throw BundleError("cannot write \(path) (zip exit status \(process.terminationStatus))")
        }
        do { try OutputFile.write(Array(zipped), to: path) } catch { throw BundleError("\(error)") }
    }

    // MARK: The binary

    /// `.build-static/release/kmlab` of the checkout this kmlab was built
    /// in (what `make static` writes), if there is one.
    static func defaultStaticBinary(executable: URL? = Bundle.main.executableURL) -> String? {
        guard let root = checkoutRoot(from: executable) else { return nil }
        let path = root.appendingPathComponent(".build-static/release/kmlab").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static func staticBinaryHint() -> String {
        (checkoutRoot(from: Bundle.main.executableURL)?.path ?? "<checkout>") + "/.build-static/release/kmlab"
    }

    /// The nearest parent directory of the executable with a Package.swift.
    static func checkoutRoot(from executable: URL?) -> URL? {
        guard var dir = executable?.resolvingSymlinksInPath().deletingLastPathComponent() else { return nil }
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }

    /// The Swift runtime libraries `binary` loads, as `ldd` lists them (nil
    /// when ldd cannot tell).
    static func swiftLibraries(of binary: String) -> [String]? {
        guard let ldd = ["/usr/bin/ldd", "/bin/ldd"].first(where: FileManager.default.isExecutableFile) else { return nil }
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: ldd)
        process.arguments = [binary]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let name = line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            return toolchainLibraryPrefixes.contains(where: name.hasPrefix) ? name : nil
        }
    }

    /// The shared libraries that come with the Swift toolchain (and not
    /// with a plain Ubuntu image).
    static let toolchainLibraryPrefixes = ["libswift", "libFoundation", "lib_FoundationICU", "libdispatch", "libBlocksRuntime"]

    /// A plain `NAME.lua`, no directories, nothing a shell would expand.
    static func isPlainFileName(_ name: String) -> Bool {
        name.hasSuffix(".lua") && name.count > 4 && name.count <= 100
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && !name.hasPrefix(".")
    }

    private func shellQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

struct BundleError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
