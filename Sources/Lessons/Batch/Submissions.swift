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

/// Where a submission is and whose it is, found by `SubmissionFinder.find`.
public struct SubmissionRef: Sendable, Equatable {
    /// The stable id (see `SubmissionFinder.id`).
    public var id: String
    /// The id's part below the graded root (the whole id for a file given by name).
    public var relative: String
    /// The file system path, as bytes (names need not be UTF-8).
    public var path: [UInt8]
    /// The real path of the tree it was found in: a symbolic link that
    /// resolves outside it is not read.
    public var tree: [UInt8]
    /// The student it belongs to (`--id-from`), if known.
    public var student: String?
    /// Why it is not graded at all (a student without a file for `--pick`).
    public var missing: String?

    public init(id: String, relative: String? = nil, path: [UInt8], tree: [UInt8], student: String? = nil, missing: String? = nil) {
        self.id = id
        self.relative = relative ?? id
        self.path = path
        self.tree = tree
        self.student = student
        self.missing = missing
    }
}

/// Finding and reading submissions. Files are taken as given; directories
/// are walked for `*.lua` (symbolic links are not followed into
/// directories, so a link loop cannot trap the walk). The list is sorted by
/// id, byte-wise, so reports and shards do not depend on directory order.
///
/// Ids are stable: relative to the graded root, prefixed with the root's own
/// name (`subs/alice/answers.lua` whether the root was given as `subs`,
/// `./subs` or `/home/me/course/subs`; a file given by name is its name).
/// Bytes that are not UTF-8 are written `\xNN`, control characters
/// escaped as in `DisplayText` and a backslash as `\\`, so two different
/// names never share an id and every id prints safely.
public enum SubmissionFinder {
    /// Sources larger than this are refused: no lesson's answers need more,
    /// and a worker must not spend its memory budget on reading.
    public static let maxSourceBytes = 1 << 20
    /// Directories deeper than this below a root are not walked.
    public static let maxDepth = 32

    /// Every submission under `roots`, sorted by id. Throws
    /// `BatchError.usage` when two files would get the same id (two roots
    /// with the same name).
    public static func find(_ roots: [String]) throws -> [SubmissionRef] {
        var byID: [String: SubmissionRef] = [:]
        for root in roots {
            for ref in walk(root) {
                if let other = byID[ref.id], other.path != ref.path {
                    throw BatchError.usage("two submissions would both have the id \(ref.id) (\(display(other.path)) and \(display(ref.path))): grade them in separate runs, or give their common parent directory")
                }
                byID[ref.id] = ref
            }
        }
        return byID.values.sorted { byteOrder($0.id, $1.id) }
    }

    /// The submissions of one root: a file is itself (its tree is its
    /// directory); a directory gives every `*.lua` below it.
    static func walk(_ root: String) -> [SubmissionRef] {
        let rootBytes = Array(root.utf8)
        var st = stat()
        let isDirectory = stat(root, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
        let trimmed = trimSlashes(rootBytes)
        guard isDirectory else {
            let name = lastComponent(trimmed)
            let parent = trimmed.count > name.count ? Array(trimmed.prefix(trimmed.count - name.count)) : Array(".".utf8)
            return [SubmissionRef(id: id(name), path: rootBytes, tree: realPath(parent) ?? parent)]
        }
        let tree = realPath(rootBytes) ?? rootBytes
        let prefix = lastComponent(trimSlashes(tree))
        var out: [SubmissionRef] = []
        // Iterative walk: (directory path, path relative to the root, depth).
        var pending: [([UInt8], [UInt8], Int)] = [(trimmed.isEmpty ? Array("/".utf8) : trimmed, [], 0)]
        while let item = pending.popLast() {
            let (dir, relative, depth) = item
            for name in entries(dir) {
                let path = dir + (dir.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]) + name
                let rel = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
                var est = stat()
                let isDir = withCPath(path, { lstat($0, &est) }) == 0 && est.st_mode & S_IFMT == S_IFDIR
                if name.count >= 4 && name.suffix(4).elementsEqual(".lua".utf8) {
                    out.append(SubmissionRef(id: id(prefix.isEmpty ? rel : prefix + [UInt8(ascii: "/")] + rel), relative: id(rel), path: path, tree: tree))
                } else if isDir && depth < maxDepth {
                    pending.append((path, rel, depth + 1))
                }
            }
        }
        return out
    }

    /// The subdirectories directly below a directory root, as ids of the
    /// root's prefix and the name (`subs/alice`), for `--id-from dir`: every
    /// student has one, with or without a file in it.
    public static func studentDirectories(_ root: String) -> [(prefix: String, name: String)] {
        let rootBytes = trimSlashes(Array(root.utf8))
        var st = stat()
        guard stat(root, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return [] }
        let prefix = id(lastComponent(trimSlashes(realPath(rootBytes) ?? rootBytes)))
        return entries(rootBytes).compactMap { name in
            var est = stat()
            let path = rootBytes + (rootBytes.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]) + name
            guard withCPath(path, { lstat($0, &est) }) == 0, est.st_mode & S_IFMT == S_IFDIR else { return nil }
            return (prefix, id(name))
        }
    }

    /// The names in a directory, without `.` and `..` (empty when it cannot be read).
    static func entries(_ dir: [UInt8]) -> [[UInt8]] {
        guard let d = withCPath(dir, { opendir($0) }) else { return [] }
        defer { closedir(d) }
        var names: [[UInt8]] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [46] || name == [46, 46] || name.isEmpty { continue }
            names.append(name)
        }
        return names
    }

    /// The id of a path (see the type's comment).
    public static func id(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            let (scalar, length) = decodeUTF8(bytes, at: i)
            guard let u = scalar else {
                out += "\\x" + String(bytes[i], radix: 16)
                i += 1
                continue
            }
            if u == "\\" { out += "\\\\" } else { out += DisplayText.escape(String(Character(u))) }
            i += length
        }
        return out
    }

    /// One scalar of strict UTF-8 (no overlongs, no surrogates), or nil and 1.
    static func decodeUTF8(_ b: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let b0 = b[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let (length, minimum): (Int, UInt32) = b0 >= 0xF0 && b0 <= 0xF4 ? (4, 0x10000) : b0 >= 0xE0 && b0 <= 0xEF ? (3, 0x800) : b0 >= 0xC2 && b0 <= 0xDF ? (2, 0x80) : (0, 0)
        guard length > 0, i + length <= b.count else { return (nil, 1) }
        var value = UInt32(b0) & (0xFF >> (length + 1))
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let u = Unicode.Scalar(value) else { return (nil, 1) }
        return (u, length)
    }

    static func trimSlashes(_ b: [UInt8]) -> [UInt8] {
        var b = b
        while b.count > 1 && b.last == UInt8(ascii: "/") { b.removeLast() }
        return b
    }

    static func lastComponent(_ b: [UInt8]) -> [UInt8] {
        if b == Array("/".utf8) { return [] }
        guard let slash = b.lastIndex(of: UInt8(ascii: "/")) else { return b == [46] ? [] : b }
        return Array(b[(slash + 1)...])
    }

    static func realPath(_ b: [UInt8]) -> [UInt8]? {
        let resolved: UnsafeMutablePointer<CChar>? = withCPath(b) { realpath($0, nil) }
        guard let resolved else { return nil }
        defer { free(resolved) }
        return Array(UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
    }

    /// Calls `body` with a NUL-terminated copy of the path bytes (paths go
    /// to the C library as bytes: a Swift String would replace names that
    /// are not UTF-8).
    static func withCPath<T>(_ b: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        let c = b.map { CChar(bitPattern: $0) } + [0]
        return c.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return "".withCString(body) }
            return body(base)
        }
    }

    static func display(_ path: [UInt8]) -> String { id(path) }

    /// Byte-wise order of the UTF-8 spelling: the same on every machine.
    public static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Reads a path given as text (tests, single files).
    public static func read(_ path: String) -> Submission {
        let bytes = Array(path.utf8)
        let dir = bytes.lastIndex(of: UInt8(ascii: "/")).map { Array(bytes[..<$0]) } ?? Array(".".utf8)
        return read(SubmissionRef(id: path, path: bytes, tree: realPath(dir.isEmpty ? Array("/".utf8) : dir) ?? dir))
    }

    /// Reads one submission, turning every reason it cannot be graded into
    /// a one-line message. A symbolic link is followed only when it
    /// resolves inside the submission's tree; the message never quotes
    /// anything of a file outside it.
    public static func read(_ ref: SubmissionRef) -> Submission {
        let id = ref.id
        func bad(_ why: String) -> Submission { Submission(id: id, content: .unreadable(why)) }
        if let missing = ref.missing { return bad(missing) }
        var st = stat()
        if withCPath(ref.path, { lstat($0, &st) }) != 0 { return bad("cannot read the submission: no such file") }
        var path = ref.path
        if st.st_mode & S_IFMT == S_IFLNK {
            guard let target = realPath(ref.path) else { return bad("cannot read the submission: a broken symbolic link") }
            let inside = ref.tree == Array("/".utf8) || (target.count > ref.tree.count && target.starts(with: ref.tree + [UInt8(ascii: "/")]))
            guard inside else { return bad("cannot read the submission: a symbolic link that leaves the submissions directory") }
            path = target
            if withCPath(path, { stat($0, &st) }) != 0 { return bad("cannot read the submission: a broken symbolic link") }
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return bad("cannot read the submission: it is a directory")
        default: return bad("cannot read the submission: not a regular file")
        }
        if Int(st.st_size) > maxSourceBytes {
            return bad("the submission is too large (\(st.st_size) bytes; the limit is \(maxSourceBytes / 1024) KiB of source)")
        }
        let fd = withCPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW) }
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
        return Submission(id: id, content: .source(LuaSource.withoutByteOrderMark(bytes), sha256: SHA256.hex(bytes)))
    }
}

/// Lua source as files hold it.
public enum LuaSource {
    /// Without a leading UTF-8 byte-order mark (editors such as Notepad
    /// write one; `lua5.4` skips it, and so does kmlab).
    public static func withoutByteOrderMark(_ bytes: [UInt8]) -> [UInt8] {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
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
