import Testing
import LuaBridge

extension KernelHarness {
    /// Runs a snippet that checks itself with `assert`; records its error as a test issue.
    func check(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if case .failure(let f) = run(source) {
            Issue.record("Lua: \(f.message)", sourceLocation: sourceLocation)
        }
    }

    /// The first result of `source` as an integer, or nil.
    func integer(_ source: String) -> Int64? {
        guard case .integer(let i)? = values(source)?.first else { return nil }
        return i
    }

    /// The first result of `source` as a string, or nil.
    func string(_ source: String) -> String? {
        values(source)?.first?.text
    }
}
