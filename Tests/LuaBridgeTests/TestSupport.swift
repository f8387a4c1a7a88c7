import Foundation
@testable import LuaBridge

/// A sandboxed state whose `print` output is captured.
final class CapturedState {
    let lua: LuaState
    var output: [UInt8] = []
    var text: String { String(decoding: output, as: UTF8.self) }

    init(profile: LuaProfile = .sandbox, limits: LuaLimits = .runDefault) throws {
        lua = try LuaState(profile: profile, limits: limits)
        lua.output = { [unowned self] in self.output += $0 }
    }

    @discardableResult
    func run(_ source: String) -> Result<[LuaValue], LuaFailure> { lua.run(source, chunkName: "=test") }

    func failure(_ source: String) -> LuaFailure? {
        if case .failure(let f) = run(source) { return f }
        return nil
    }

    func values(_ source: String) -> [LuaValue] {
        if case .success(let v) = run(source) { return v }
        return []
    }
}

/// Resident set size of this process, in bytes (Linux /proc/self/statm).
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    guard parts.count > 1, let pages = Int(parts[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
