import Foundation

/// Why an output file could not be written; `description` is a whole
/// sentence naming the path.
public struct OutputFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// The one way kmlab writes a whole file it was asked to produce: reports
/// (`kmlab grade --out`), feedback files, progress, pictures
/// (`memmap{svg=...}`), bundles.
///
/// - A regular file (or a new one) is replaced atomically: the bytes go to a
///   temporary file in the same directory, which is flushed and renamed over
///   the target, so a reader sees the old file or the new one, never half.
///   A symbolic link to a regular file keeps being a link: its target is
///   replaced. The old file's permission bits are kept.
/// - Anything else that can be written — a character device (`/dev/null`,
///   a terminal), a FIFO, `/dev/stdout` and `/dev/fd/N` — is written in
///   place. Renaming over them would replace the device node itself (as
///   root, `/dev/null` would become a regular file for every program on the
///   machine).
/// - A directory, a block device, a socket, a missing directory or a
///   target without write permission is a clear error; nothing is written.
public enum OutputFile {
    public static func write(_ text: String, to path: String) throws(OutputFileError) {
        try write(Array(text.utf8), to: path)
    }

    public static func write(_ bytes: [UInt8], to path: String) throws(OutputFileError) {
        func fail(_ reason: String) -> OutputFileError { OutputFileError(path: path, reason: reason) }
        guard !path.isEmpty else { throw fail("the path is empty") }
        // The process's own standard streams: the descriptor itself, not a
        // new open of /proc/self/fd/N (which would start at offset 0 of a
        // redirected file and write over what is there).
        if let fd = standardDescriptor(path) {
            guard writeAll(fd, bytes) else { throw fail(errorText(errno)) }
            return
        }
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            guard e == ENOENT else { throw fail(errorText(e)) }
            var lst = stat()
            if lstat(path, &lst) == 0 { throw fail("a symbolic link to a missing file (\(errorText(e)))") }
            try replace(path, with: bytes, mode: nil)
            return
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            try replace(resolvedPath(path), with: bytes, mode: st.st_mode & 0o7777, reportAs: path)
        case S_IFDIR:
            throw fail("it is a directory (give a file name)")
        case S_IFCHR, S_IFIFO:
            let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { throw fail(errorText(errno)) }
            defer { close(fd) }
            guard writeAll(fd, bytes) else { throw fail(errorText(errno)) }
        case S_IFBLK:
            throw fail("it is a block device; kmlab does not write to disks")
        default:
            throw fail("it is not a regular file, a character device or a FIFO")
        }
    }

    /// Throws the error `write` would throw for a target that cannot be
    /// written at all (a directory, a missing directory, a block device),
    /// without writing: a long job checks its output before it starts.
    public static func check(_ path: String) throws(OutputFileError) {
        func fail(_ reason: String) -> OutputFileError { OutputFileError(path: path, reason: reason) }
        guard !path.isEmpty else { throw fail("the path is empty") }
        if standardDescriptor(path) != nil { return }
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG, S_IFCHR, S_IFIFO:
                if access(path, W_OK) != 0 { throw fail("permission denied (the file is not writable)") }
                return
            case S_IFDIR: throw fail("it is a directory (give a file name)")
            case S_IFBLK: throw fail("it is a block device; kmlab does not write to disks")
            default: throw fail("it is not a regular file, a character device or a FIFO")
            }
        }
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var dst = stat()
        guard stat(directory, &dst) == 0, dst.st_mode & S_IFMT == S_IFDIR else { throw fail("its directory \(directory) does not exist") }
        if path.hasSuffix("/") { throw fail("it names a directory (give a file name)") }
    }

    /// True when `path` is, or would be, a regular file (not a device, a
    /// FIFO or a standard stream): a place next to which other files may go.
    public static func isFileTarget(_ path: String) -> Bool {
        if standardDescriptor(path) != nil { return false }
        var st = stat()
        guard stat(path, &st) == 0 else { return true }
        return st.st_mode & S_IFMT == S_IFREG
    }

    /// The file descriptor a path names when it is one of this process's
    /// own: `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`.
    static func standardDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
            let digits = path.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int32(digits) else { return nil }
            return fcntl(n, F_GETFD) == -1 ? nil : n
        }
        return nil
    }

    /// The path with symbolic links resolved (a link's target is what gets replaced).
    static func resolvedPath(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// Temporary file in the target's directory, flushed, renamed over the target.
    static func replace(_ target: String, with bytes: [UInt8], mode: mode_t?, reportAs shown: String? = nil) throws(OutputFileError) {
        func fail(_ reason: String) -> OutputFileError { OutputFileError(path: shown ?? target, reason: reason) }
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        guard !name.isEmpty else { throw fail("it names a directory (give a file name)") }
        var st = stat()
        guard stat(directory, &st) == 0 else { throw fail("its directory \(directory) does not exist") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw fail("\(directory) is not a directory") }
        if let mode, access(target, W_OK) != 0 { throw fail("permission denied (the file is not writable)") }
        var template = Array((directory == "/" ? "/" : directory + "/").utf8) + Array(".\(name).tmp-XXXXXX".utf8) + [0]
        let fd = template.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return -1 }
            return base.withMemoryRebound(to: CChar.self, capacity: buf.count) { mkstemp($0) }
        }
        guard fd >= 0 else {
            let e = errno
            throw fail(e == EACCES || e == EROFS ? "its directory \(directory) is not writable (\(errorText(e)))" : errorText(e))
        }
        let temporary = String(decoding: template.dropLast(), as: UTF8.self)
        let ok = writeAll(fd, bytes) && fchmod(fd, mode ?? newFileMode()) == 0 && fsync(fd) == 0
        let writeError = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw fail(errorText(writeError))
        }
        guard rename(temporary, target) == 0 else {
            let e = errno
            unlink(temporary)
            throw fail(errorText(e))
        }
    }

    /// 0666 less the umask, as `open(O_CREAT, 0666)` would give (mkstemp makes 0600).
    static func newFileMode() -> mode_t {
        let mask = umask(0)
        umask(mask)
        return 0o666 & ~mask
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += n
        }
        return true
    }

    static func errorText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
