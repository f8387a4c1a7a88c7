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
    /// By chunk name; a hit also needs the same source (usually the very same
    /// array, which `==` recognises without reading it).
    private var compiled: [String: (source: [UInt8], bytecode: [UInt8])] = [:]

    /// The bytecode of `source`, compiled with `lua` the first time; nil if it
    /// does not compile (the caller loads the text and reports the error).
    /// `stripped`: without debug info (see `LuaState.compile`), for grading
    /// states, where the learner's code must not see the grader's files and lines.
    func bytecode(for source: [UInt8], chunkName: String, using lua: LuaState, stripped: Bool = false) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        let key = (stripped ? "stripped " : "") + chunkName
        if let entry = compiled[key], entry.source == source { return entry.bytecode }
        guard case .success(let b) = lua.compile(source, chunkName: chunkName, stripped: stripped) else { return nil }
        if compiled.count >= 64 { compiled.removeAll() }
        compiled[key] = (source, b)
        return b
    }
}
