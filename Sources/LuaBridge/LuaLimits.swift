/// The budgets a script runs under. Both are enforced from C (the allocator
/// and a count hook, see Modules/CLua/shim.h) so that no `pcall` can swallow
/// them: once a budget is exceeded every further Lua instruction raises
/// again, and the script unwinds to the host.
public struct LuaLimits: Equatable, Sendable {
    /// Lua VM instructions, counted in steps of `hookInterval` (or estimated,
    /// see `samplingPeriodMicroseconds`); 0 means unlimited.
    public var maxInstructions: Int64
    /// Bytes the Lua state may hold; 0 means unlimited.
    public var maxMemory: Int
    /// Instructions between checks of the budget and of Ctrl-C.
    public var hookInterval: Int32
    /// Counts the main thread's instructions by sampling, every this many
    /// microseconds of its CPU time, instead of exactly. Lua 5.4 runs every
    /// instruction through its hook dispatcher while a count hook is set,
    /// which doubles the cost of tight loops; when the budget only stops
    /// runaways, the main thread runs unhooked and a CPU-time timer arms a
    /// short counting window every period, which charges the time since the
    /// last window at the rate it measured (see `kmlab_sampling_start` in
    /// Modules/CLua/shim.h). Ctrl-C is seen within a period; a runaway still
    /// stops, with the same message, at up to about twice the nominal count;
    /// coroutines are always counted exactly. nil means exact counting from
    /// the first instruction, which graders and tests use (the same count on
    /// every machine).
    public var samplingPeriodMicroseconds: Int?

    public init(maxInstructions: Int64, maxMemory: Int, hookInterval: Int32 = 1000,
                samplingPeriodMicroseconds: Int? = nil) {
        self.maxInstructions = maxInstructions
        self.maxMemory = maxMemory
        self.hookInterval = hookInterval
        self.samplingPeriodMicroseconds = samplingPeriodMicroseconds
    }

    /// `kmlab run`'s defaults: generous, yet a runaway script still stops.
    public static let runDefault = LuaLimits(maxInstructions: 10_000_000_000, maxMemory: 1 << 30)
    /// No budget at all (trusted lesson files, the REPL's own setup).
    public static let unlimited = LuaLimits(maxInstructions: 0, maxMemory: 0)
}

/// Parses a size such as `256M`, `1G`, `64K`, `4096` (binary units).
public func parseByteSize(_ text: String) -> Int? {
    let t = text.filter { $0 != " " }
    guard let last = t.last else { return nil }
    var digits = t
    var shift = 0
    switch last {
    case "K", "k": shift = 10
    case "M", "m": shift = 20
    case "G", "g": shift = 30
    case "T", "t": shift = 40
    default: break
    }
    if shift > 0 { digits.removeLast() }
    if digits.hasSuffix("i") || digits.hasSuffix("B") { return nil }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
    let (v, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : v
}
