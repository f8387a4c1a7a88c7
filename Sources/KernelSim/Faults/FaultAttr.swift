/// One fault-injection capability's attributes and decision, as
/// lib/fault-inject.c keeps them in `struct fault_attr`
/// (include/linux/fault-inject.h) and decides in `should_fail_ex()`.
///
/// Defaults are FAULT_ATTR_INITIALIZER's: interval 1, times 1, verbose 2,
/// probability 0 (so nothing fails until someone asks), the verbose
/// rate limit disabled (RATELIMIT_STATE_INIT_DISABLED: interval 0, burst 10).
public struct FaultAttr: Equatable, Sendable {
    /// Percent chance of a failure once the other filters pass (0: never).
    public var probability: UInt64 = 0
    /// Only every interval-th eligible call may fail (1: every call).
    public var interval: UInt64 = 1
    /// Failures left; -1 is unlimited, 0 stops injecting.
    public var times: Int32 = 1
    /// Bytes (or pages) that pass untouched before failures start.
    public var space: Int32 = 0
    /// 0 quiet, 1 the two-line notice, 2 the notice and a stack dump.
    public var verbose: UInt64 = 2
    /// The notice's rate limit (0 ms: no limit).
    public var ratelimitIntervalMs: UInt32 = 0
    public var ratelimitBurst: UInt32 = 10
    /// Fail only tasks with /proc/PID/make-it-fail set (none in kmlab).
    public var taskFilter = false
    /// Eligible calls seen since boot (the interval counter).
    public var count: UInt64 = 0

    // ___ratelimit() state (lib/ratelimit.c), in simulated nanoseconds.
    var ratelimitBegin: UInt64 = 0
    var ratelimitPrinted: UInt32 = 0
    var ratelimitMissed: UInt32 = 0

    public init() {}

    /// setup_fault_attr(): "<interval>,<probability>,<space>,<times>" read
    /// with sscanf("%lu,%lu,%d,%d"). False (attributes untouched) when fewer
    /// than four fields convert, as the kernel's __setup handler.
    /// `ulongBits` is the width of unsigned long (32 on x86_32).
    public mutating func setup(_ text: String, ulongBits: Int) -> Bool {
        var scanner = FaultScanner(Array(text.utf8))
        guard let interval = scanner.unsigned(), scanner.literal(UInt8(ascii: ",")),
              let probability = scanner.unsigned(), scanner.literal(UInt8(ascii: ",")),
              let space = scanner.signed(), scanner.literal(UInt8(ascii: ",")),
              let times = scanner.signed() else { return false }
        let mask: UInt64 = ulongBits >= 64 ? .max : (1 << UInt64(ulongBits)) - 1
        self.interval = interval & mask
        self.probability = probability & mask
        self.space = Int32(truncatingIfNeeded: space)
        self.times = Int32(truncatingIfNeeded: times)
        return true
    }

    /// should_fail_ex() after the fail-nth check (kmlab has no
    /// /proc/self/fail-nth): true when this call must fail. `random100`
    /// is get_random_u32_below(100), asked only when the probability test
    /// is reached, as in the kernel (so the sequence of draws matches).
    mutating func shouldFail(size: Int, random100: () -> UInt64) -> Bool {
        if probability == 0 { return false }
        // No task has make-it-fail set: a task filter lets nothing fail.
        if taskFilter { return false }
        if times == 0 { return false }
        if Int(space) > size {
            space = Int32(truncatingIfNeeded: Int(space) - size)
            return false
        }
        if interval > 1 {
            count &+= 1
            if count % interval != 0 { return false }
        }
        if probability <= random100() { return false }
        return true
    }

    /// What happens after a decision to fail: atomic_dec_not_zero(times)
    /// unless unlimited (-1).
    mutating func consumeTime() {
        if times != -1 && times != 0 { times -= 1 }
    }

    /// __ratelimit(&attr->ratelimit_state) (lib/ratelimit.c): whether the
    /// notice may print now, and how many notices were suppressed since the
    /// last window (printed as "fail_dump: N callbacks suppressed").
    mutating func ratelimitAllows(now: UInt64) -> (allowed: Bool, suppressed: UInt32) {
        if ratelimitIntervalMs == 0 { return (true, 0) }
        if ratelimitBegin == 0 { ratelimitBegin = max(now, 1) }
        var suppressed: UInt32 = 0
        if now >= ratelimitBegin &+ UInt64(ratelimitIntervalMs) * 1_000_000 {
            suppressed = ratelimitMissed
            ratelimitMissed = 0
            ratelimitBegin = max(now, 1)
            ratelimitPrinted = 0
        }
        if ratelimitBurst > 0 && ratelimitBurst > ratelimitPrinted {
            ratelimitPrinted += 1
            return (true, suppressed)
        }
        ratelimitMissed &+= 1
        return (false, suppressed)
    }
}

/// The subset of the kernel's vsscanf() that setup_fault_attr() needs:
/// decimal %lu and %d conversions (white space skipped before each, a
/// sign only for %d) and literal characters matched exactly.
struct FaultScanner {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpaces() {
        while at < bytes.count, [9, 10, 11, 12, 13, 32].contains(bytes[at]) { at += 1 }
    }

    mutating func literal(_ c: UInt8) -> Bool {
        guard at < bytes.count, bytes[at] == c else { return false }
        at += 1
        return true
    }

    /// Decimal digits, wrapping like simple_strtoull on overflow.
    mutating func digits() -> UInt64? {
        var v: UInt64 = 0
        let start = at
        while at < bytes.count, bytes[at] >= 48, bytes[at] <= 57 {
            v = v &* 10 &+ UInt64(bytes[at] - 48)
            at += 1
        }
        return at > start ? v : nil
    }

    mutating func unsigned() -> UInt64? {
        skipSpaces()
        return digits()
    }

    mutating func signed() -> Int64? {
        skipSpaces()
        var negative = false
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") {
            negative = true
            at += 1
        }
        guard let v = digits() else { return nil }
        let s = Int64(bitPattern: v)
        return negative ? 0 &- s : s
    }
}
