import Foundation
import SafeOutput
import Testing

/// `OutputFile.write`, the writer every output goes through: atomic for
/// regular files, in place for devices and FIFOs, clear errors otherwise.
@Suite struct OutputFileTests {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmlab-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable>" }

    func type(_ path: String, follow: Bool = false) -> mode_t {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        return rc == 0 ? st.st_mode & S_IFMT : 0
    }

    @Test func aRegularFileIsReplacedByRenameKeepingItsMode() throws {
        let path = dir + "/report.txt"
        try OutputFile.write("first\n", to: path)
        #expect(contents(path) == "first\n")
        chmod(path, 0o640)
        var before = stat(); stat(path, &before)
        try OutputFile.write("second\n", to: path)
        var after = stat(); stat(path, &after)
        #expect(contents(path) == "second\n")
        #expect(before.st_ino != after.st_ino, "replaced by rename, not rewritten in place")
        #expect(after.st_mode & 0o777 == 0o640)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["report.txt"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func aLinkToARegularFileStaysALink() throws {
        try OutputFile.write("old", to: dir + "/real.txt")
        symlink("real.txt", dir + "/link.txt")
        try OutputFile.write("new", to: dir + "/link.txt")
        #expect(type(dir + "/link.txt") == S_IFLNK)
        #expect(contents(dir + "/real.txt") == "new")
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func aFifoIsWrittenInPlaceAndStaysAFifo() throws {
        let path = dir + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let reader = Thread {
            if let h = FileHandle(forReadingAtPath: path) { box.data = h.readDataToEndOfFile() }
        }
        reader.start()
        try OutputFile.write("through the pipe\n", to: path)
        while !reader.isFinished { usleep(1000) }
        #expect(String(decoding: box.data, as: UTF8.self) == "through the pipe\n")
        #expect(type(path) == S_IFIFO)
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func devNullIsWrittenAndStaysACharacterDevice() throws {
        // Reading /dev/null's file type is safe whoever runs the tests; the
        // write goes through open(2), never rename(2).
        try OutputFile.write("discarded", to: "/dev/null")
        try OutputFile.check("/dev/null")
        #expect(type("/dev/null") == S_IFCHR)
        #expect(OutputFile.isFileTarget("/dev/null") == false)
        #expect(OutputFile.isFileTarget("/dev/stdout") == false)
        #expect(OutputFile.isFileTarget(dir + "/new.txt"))
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func directoriesMissingDirectoriesAndBlockDevicesAreClearErrors() throws {
        func message(_ path: String) -> String {
            do { try OutputFile.write("x", to: path); return "" } catch { return error.description }
        }
        #expect(message(dir).contains("is a directory"))
        #expect(message(dir + "/no/such/dir/file.txt").contains("does not exist"))
        #expect(message("").contains("empty"))
        symlink("missing-target", dir + "/dangling")
        #expect(message(dir + "/dangling").contains("symbolic link to a missing file"))
        do { try OutputFile.check(dir); Issue.record("a directory passed the check") } catch {
            #expect(error.description.contains("is a directory"))
        }
        if getuid() != 0 {
            let ro = dir + "/ro"
            try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
            chmod(ro, 0o500)
            #expect(message(ro + "/file.txt").contains("not writable"))
            chmod(ro, 0o700)
        }
        // Nothing was written anywhere.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted().filter { $0 != "ro" } == ["dangling"])
        try? FileManager.default.removeItem(atPath: dir)
    }
}
