import Foundation
import LuaBridge

/// Lesson files compiled once per process. Every grading state loads its
/// lesson again (a fresh state per exercise check, thousands per batch), and
/// parsing a lesson's text was about a quarter of a grading worker's time;
/// loading its bytecode is a small fraction of that. Lesson files are trusted
/// code, so loading them as binary chunks is safe.
final class LessonBytecode: @unchecked Sendable {
    static let shared = LessonBytecode()
    private let lock = NSLock()
    private var compiled: [Key: [UInt8]] = [:]

    private struct Key: Hashable {
        var chunkName: String
        var source: [UInt8]
    }

    /// The bytecode of `source`, compiled with `lua` the first time; nil if it
    /// does not compile (the caller loads the text and reports the error).
    func bytecode(for source: [UInt8], chunkName: String, using lua: LuaState) -> [UInt8]? {
        let key = Key(chunkName: chunkName, source: source)
        lock.lock()
        defer { lock.unlock() }
        if let b = compiled[key] { return b }
        guard case .success(let b) = lua.compile(source, chunkName: chunkName) else { return nil }
        if compiled.count >= 64 { compiled.removeAll() }
        compiled[key] = b
        return b
    }
}
