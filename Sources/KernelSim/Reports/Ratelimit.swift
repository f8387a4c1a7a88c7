/// lib/ratelimit.c's `___ratelimit()`: at most `burst` messages in each
/// window of `interval` nanoseconds of simulated time. A window starts at the
/// first message after the previous one ended; the messages refused in a
/// window are counted, and the kernel logs them as "FUNC: N callbacks
/// suppressed" when the next window starts (`check` hands that count back;
/// the caller decides whether its kernel printed it).
///
/// One type for every rate-limited report: warn_alloc()'s nopage_rs,
/// printk_ratelimit() (smp_processor_id()'s BUG), oom_kill_process()'s oom_rs.
struct Ratelimit {
    let interval: UInt64
    let burst: Int
    private var begin: UInt64?
    private var printed = 0
    private var missed = 0

    init(interval: UInt64, burst: Int) {
        self.interval = interval
        self.burst = burst
    }

    /// DEFAULT_RATELIMIT_INTERVAL (5 * HZ) and DEFAULT_RATELIMIT_BURST (10),
    /// include/linux/ratelimit_types.h; printk_ratelimit() and oom_rs use them.
    static var printkDefault: Ratelimit { Ratelimit(interval: 5_000_000_000, burst: 10) }

    /// Whether a message may print `now`, and how many were refused in the
    /// window that this call closed (0 when the window goes on).
    mutating func check(at now: UInt64) -> (allowed: Bool, suppressed: Int) {
        var suppressed = 0
        if begin.map({ now &- $0 >= interval }) ?? true {
            if begin != nil { suppressed = missed }
            begin = now
            printed = 0
            missed = 0
        }
        guard printed < burst else {
            missed += 1
            return (false, suppressed)
        }
        printed += 1
        return (true, suppressed)
    }
}
