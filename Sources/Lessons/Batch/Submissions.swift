import Foundation

/// One submission of a batch: its id (the path as the instructor gave it,
/// or the directory as given joined with the path inside it), and either
/// its source or why it cannot be graded.
public struct Submission: Sendable, Equatable {
    public var id: String
    public var content: Content

    public enum Content: Sendable, Equatable {
        case source([UInt8], sha256: String)
        case unreadable(String)
    }

    /// The content hash for `--resume` ("" when unreadable).
    public var sha256: String {
        if case .source(_, let h) = content { return h }
        return ""
    }
}

/// Finding and reading submissions. Files are taken as given; directories
/// are walked recursively for `*.lua` (symbolic links to directories are not
/// followed, so a link loop cannot trap the walk). The list is sorted by
/// id, byte-wise, so reports and shards do not depend on directory order.
public enum SubmissionFinder {
    /// Sources larger than this are refused: no lesson's answers need more,
    /// and a worker must not spend its memory budget on reading.
    public static let maxSourceBytes = 1 << 20

    /// The sorted, de-duplicated ids of every submission under `paths`.
    public static func ids(_ paths: [String]) -> [String] {
        var out = Set<String>()
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
            guard exists, isDirectory.boolValue else {
                out.insert(path)
                continue
            }
            // A directory: every *.lua below it (a broken link or a
            // directory named *.lua is listed too, and reported unreadable).
            guard let walker = fm.enumerator(atPath: path) else { out.insert(path); continue }
            let base = path.hasSuffix("/") ? path : path + "/"
            while let relative = walker.nextObject() as? String {
                if relative.hasSuffix(".lua") { out.insert(base + relative) }
            }
        }
        return out.sorted(by: byteOrder)
    }

    /// Byte-wise order of the UTF-8 spelling: the same on every machine.
    public static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Reads one submission, turning every reason it cannot be graded into
    /// a one-line message.
    public static func read(_ id: String) -> Submission {
        func bad(_ why: String) -> Submission { Submission(id: id, content: .unreadable(why)) }
        var st = stat()
        if lstat(id, &st) != 0 { return bad("cannot read the submission: no such file") }
        if st.st_mode & S_IFMT == S_IFLNK, stat(id, &st) != 0 {
            return bad("cannot read the submission: a broken symbolic link")
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return bad("cannot read the submission: it is a directory")
        default: return bad("cannot read the submission: not a regular file")
        }
        if Int(st.st_size) > maxSourceBytes {
            return bad("the submission is too large (\(st.st_size) bytes; the limit is \(maxSourceBytes / 1024) KiB of source)")
        }
        let fd = open(id, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return bad("cannot read the submission: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return bad("cannot read the submission: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > maxSourceBytes {
                return bad("the submission is too large (over the \(maxSourceBytes / 1024) KiB limit of source)")
            }
        }
        if let nul = bytes.firstIndex(of: 0) {
            return bad("the submission contains a NUL byte (at byte \(nul)): it is not a text file")
        }
        if String(validatingUTF8: bytes.map { CChar(bitPattern: $0) } + [0]) == nil {
            return bad("the submission is not valid UTF-8 text")
        }
        return Submission(id: id, content: .source(bytes, sha256: SHA256.hex(bytes)))
    }
}

/// `--shard K/N`: the submission at index i (0-based) of the sorted list
/// belongs to shard (i mod N) + 1. Every shard of the same list sees the
/// same sorted list, so the shards are disjoint and together complete.
public struct Shard: Equatable, Sendable {
    public var index: Int
    public var count: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else { return nil }
        index = k
        count = n
    }

    public func select<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
    }
}
