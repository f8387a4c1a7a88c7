import Testing
@testable import KernelSim
import SeededRandom

/// failslab and fail_page_alloc as lib/fault-inject.c, mm/failslab.c and
/// mm/fail_page_alloc.c define them.
@Suite struct FaultInjectionTests {
    static let failslab = "/sys/kernel/debug/failslab/"
    static let failPage = "/sys/kernel/debug/fail_page_alloc/"

    func machine(failslab: String? = nil, failPageAlloc: String? = nil, seed: UInt64 = 0,
                 arch: Arch = .x86_32) throws -> Machine {
        var c = MachineConfig(arch: arch, seed: seed, bootMessages: false)
        c.failslab = failslab
        c.failPageAlloc = failPageAlloc
        return try Machine(config: c)
    }

    @Test func defaultsAreFaultAttrInitializersAndTheCapabilitiesOwn() throws {
        let m = try machine()
        let expected: [String: String] = [
            "probability": "0\n", "interval": "1\n", "times": "1\n", "space": "0\n", "verbose": "2\n",
            "verbose_ratelimit_interval_ms": "0\n", "verbose_ratelimit_burst": "10\n", "task-filter": "N\n",
            "ignore-gfp-wait": "Y\n", "cache-filter": "N\n",
        ]
        for (name, value) in expected { #expect(try m.proc(Self.failslab + name) == value, "failslab/\(name)") }
        #expect(try m.proc(Self.failPage + "ignore-gfp-highmem") == "Y\n")
        #expect(try m.proc(Self.failPage + "ignore-gfp-wait") == "Y\n")
        #expect(try m.proc(Self.failPage + "min-order") == "1\n")
        #expect(throws: ProcError.self) { try m.proc(Self.failPage + "cache-filter") }
        // Probability 0: nothing fails.
        for _ in 0..<50 { #expect(try m.kmalloc(64, .atomic) != nil) }
    }

    @Test func bootParameterSetsIntervalProbabilitySpaceTimes() throws {
        let m = try machine(failslab: "3,75,4096,-1", failPageAlloc: " 2, 50,8,7")
        #expect(try m.proc(Self.failslab + "interval") == "3\n")
        #expect(try m.proc(Self.failslab + "probability") == "75\n")
        #expect(try m.proc(Self.failslab + "space") == "4096\n")
        #expect(try m.proc(Self.failslab + "times") == "-1\n")
        #expect(try m.proc(Self.failPage + "interval") == "2\n")
        #expect(try m.proc(Self.failPage + "times") == "7\n")
    }

    @Test(arguments: ["", "1,100,0", "1;100;0;-1", "-1,100,0,1", "a,b,c,d", "1,100 ,0,-1"])
    func unparsableBootParameterLogsAndKeepsDefaults(text: String) throws {
        let m = try machine(failslab: text)
        #expect(m.log.text.contains("FAULT_INJECTION: failed to parse arguments"))
        #expect(try m.proc(Self.failslab + "probability") == "0\n")
        #expect(try m.proc(Self.failslab + "times") == "1\n")
    }

    /// ignore-gfp-wait is on by default: GFP_KERNEL never fails, GFP_ATOMIC does.
    @Test func failslabSparesSleepingAllocationsUntilIgnoreGfpWaitIsOff() throws {
        let m = try machine(failslab: "1,100,0,-1")
        #expect(try m.kmalloc(100, .kernel) != nil)
        #expect(try m.kmalloc(100, .atomic) == nil)
        #expect(m.writeFile(Self.failslab + "ignore-gfp-wait", "N") == nil)
        #expect(try m.kmalloc(100, .kernel) == nil)
        // __GFP_NOFAIL is never failed.
        #expect(try m.kmalloc(100, GFP.kernel.union(.nofail)) != nil)
        // No warn_alloc for an injected failure: the kernel returns before it.
        #expect(m.reports(.allocationFailure).isEmpty)
    }

    @Test func forcedFailurePrintsFailDumpWithAttributesBeforeTimesIsConsumed() throws {
        let m = try machine(failslab: "1,100,0,2")
        #expect(try m.kmalloc(32, .atomic) == nil)
        let log = m.log.text
        #expect(log.contains("FAULT_INJECTION: forcing a failure."))
        #expect(log.contains("name failslab, interval 1, probability 100, space 0, times 2"))
        #expect(log.contains("Call Trace:"))
        #expect(log.contains("should_failslab+"))
        #expect(try m.proc(Self.failslab + "times") == "1\n")
        #expect(try m.kmalloc(32, .atomic) == nil)
        #expect(m.log.text.contains("times 1"))
        #expect(try m.proc(Self.failslab + "times") == "0\n")
        // times 0: injection stops.
        for _ in 0..<20 { #expect(try m.kmalloc(32, .atomic) != nil) }
        #expect(m.log.reports.isEmpty, "a notice, not a report")
    }

    @Test func verboseOneHasNoStackAndZeroIsSilentAndNowarnIsSilent() throws {
        let m = try machine(failslab: "1,100,0,-1")
        #expect(m.writeFile(Self.failslab + "verbose", "1") == nil)
        #expect(try m.kmalloc(32, .atomic) == nil)
        #expect(m.log.text.contains("FAULT_INJECTION: forcing a failure."))
        #expect(!m.log.text.contains("Call Trace:"))
        let lines = m.log.lines.count
        #expect(try m.kmalloc(32, GFP.atomic.union(.nowarn)) == nil)
        #expect(m.log.lines.count == lines)
        #expect(m.writeFile(Self.failslab + "verbose", "0") == nil)
        #expect(try m.kmalloc(32, .atomic) == nil)
        #expect(m.log.lines.count == lines)
    }

    /// space: allocations pass while space exceeds their size, each consuming it.
    @Test func spaceLetsTheFirstBytesThrough() throws {
        let m = try machine(failslab: "1,100,300,-1")
        #expect(try m.kmalloc(100, .atomic) != nil)   // 300 > 128 → 172
        #expect(try m.kmalloc(100, .atomic) != nil)   // 172 > 128 → 44
        #expect(try m.proc(Self.failslab + "space") == "44\n")
        #expect(try m.kmalloc(100, .atomic) == nil)
    }

    @Test func intervalFailsEveryNthEligibleCall() throws {
        let m = try machine(failslab: "4,100,0,-1")
        var pattern: [Bool] = []
        for _ in 0..<12 { pattern.append(try m.kmalloc(16, .atomic) == nil) }
        #expect(pattern == [false, false, false, true, false, false, false, true, false, false, false, true])
    }

    /// Probability draws come from the machine's seeded generator: the same
    /// seed gives the same failures; the rate is near the probability.
    @Test(arguments: [10, 50, 90])
    func probabilityIsDeterministicPerSeedAndNearItsPercent(percent: Int) throws {
        func pattern(_ seed: UInt64) throws -> [Bool] {
            let m = try machine(failslab: "1,\(percent),0,-1", seed: seed)
            #expect(m.writeFile(Self.failslab + "verbose", "0") == nil)
            var out: [Bool] = []
            for _ in 0..<1000 {
                let p = try m.kmalloc(8, .atomic)
                out.append(p == nil)
                if let p { try m.kfree(p) }
            }
            return out
        }
        let a = try pattern(7), b = try pattern(7), c = try pattern(8)
        #expect(a == b)
        #expect(a != c)
        let failures = a.filter { $0 }.count
        #expect(abs(failures - percent * 10) < 80, "\(failures) failures of 1000 at \(percent)%")
    }

    @Test func failPageAllocHonoursMinOrderHighmemAndWait() throws {
        let m = try machine(failPageAlloc: "1,100,0,-1")
        #expect(try m.allocPages(.atomic, order: 0) != nil, "min-order 1 spares single pages")
        #expect(try m.allocPages(.atomic, order: 1) == nil)
        #expect(try m.allocPages(.kernel, order: 2) != nil, "ignore-gfp-wait")
        #expect(try m.allocPages(GFP.atomic.union(.highmem), order: 2) != nil, "ignore-gfp-highmem")
        #expect(m.log.text.contains("name fail_page_alloc, interval 1, probability 100, space 0, times -1"))
        #expect(m.log.text.contains("should_fail_alloc_page+"))
        #expect(m.writeFile(Self.failPage + "min-order", "0") == nil)
        #expect(m.writeFile(Self.failPage + "ignore-gfp-highmem", "n") == nil)
        #expect(try m.allocPages(.atomic, order: 0) == nil)
        #expect(try m.allocPages(GFP.atomic.union(.highmem), order: 0) == nil)
        #expect(try m.allocPages(GFP.atomic.union(.nofail), order: 0) != nil)
        #expect(m.reports(.allocationFailure).isEmpty)
    }

    /// A large kmalloc comes from the page allocator: failslab does not
    /// apply, fail_page_alloc does.
    @Test func largeKmallocIsAPageAllocation() throws {
        let m = try machine(failslab: "1,100,0,-1")
        #expect(try m.kmalloc(16384, .atomic) != nil)
        let n = try machine(failPageAlloc: "1,100,0,-1")
        #expect(try n.kmalloc(16384, .atomic) == nil)
        #expect(try n.kmalloc(64, .atomic) != nil, "a cached slab object needs no new page")
    }

    @Test func writesParseAsTheKernelsKstrtoxDo() throws {
        let m = try machine()
        let p = Self.failslab + "probability"
        #expect(m.writeFile(p, "0x10") == nil)
        #expect(try m.proc(p) == "16\n")
        #expect(m.writeFile(p, "010") == nil)
        #expect(try m.proc(p) == "8\n")
        #expect(m.writeFile(p, "+5") == nil)
        #expect(try m.proc(p) == "5\n")
        #expect(m.writeFile(p, "abc") == .EINVAL)
        #expect(m.writeFile(p, "") == .EINVAL)
        #expect(m.writeFile(p, "5 percent") == .EINVAL)
        #expect(m.writeFile(p, "-1") == .EINVAL)
        #expect(m.writeFile(p, " 5") == .EINVAL)
        #expect(m.writeFile(p, "99999999999999999999") == .ERANGE)
        #expect(try m.proc(p) == "5\n")
        // unsigned long is 32 bits on x86_32.
        #expect(m.writeFile(p, "4294967301") == nil)
        #expect(try m.proc(p) == "5\n")
        let t = Self.failslab + "times"
        #expect(m.writeFile(t, "-1") == nil)
        #expect(try m.proc(t) == "-1\n")
        let b = Self.failslab + "ignore-gfp-wait"
        for (text, value) in [("N", "N\n"), ("on", "Y\n"), ("off", "N\n"), ("1", "Y\n"), ("false", "N\n"), ("yes", "Y\n")] {
            #expect(m.writeFile(b, text) == nil, "\(text)")
            #expect(try m.proc(b) == value, "\(text)")
        }
        #expect(m.writeFile(b, "maybe") == .EINVAL)
        #expect(m.writeFile(b, "") == .EINVAL)
        #expect(m.writeFile("/sys/kernel/debug/failslab/nonesuch", "1") == .ENOENT)
        #expect(m.writeFile("/proc/meminfo", "1") == .EACCES)
        #expect(m.writablePaths.contains(p))
    }

    @Test func x86_64UnsignedLongIs64Bits() throws {
        let m = try machine(arch: .x86_64)
        let p = Self.failslab + "interval"
        #expect(m.writeFile(p, "4294967301") == nil)
        #expect(try m.proc(p) == "4294967301\n")
    }

    @Test func theVerboseRateLimitSuppressesAndCounts() throws {
        let m = try machine(failslab: "1,100,0,-1")
        #expect(m.writeFile(Self.failslab + "verbose_ratelimit_interval_ms", "1000") == nil)
        #expect(m.writeFile(Self.failslab + "verbose_ratelimit_burst", "2") == nil)
        #expect(m.writeFile(Self.failslab + "verbose", "1") == nil)
        for _ in 0..<5 { #expect(try m.kmalloc(8, .atomic) == nil) }
        #expect(m.log.lines.filter { $0.contains("forcing a failure") }.count == 2)
        m.advanceClock(nanoseconds: 2_000_000_000)
        #expect(try m.kmalloc(8, .atomic) == nil)
        #expect(m.log.text.contains("fail_dump: 3 callbacks suppressed"))
        #expect(m.log.lines.filter { $0.contains("forcing a failure") }.count == 3)
    }

    @Test func era26HasNoFaultInjection() throws {
        let m = try Machine(config: MachineConfig(era: .v2_6, bootMessages: false))
        #expect(throws: ProcError.self) { try m.proc(Self.failslab + "probability") }
        #expect(m.writeFile(Self.failslab + "probability", "100") == .ENOENT)
    }

    /// Whatever the attributes, times counts down exactly by the failures
    /// (unless unlimited) and nothing traps.
    @Test func randomAttributesKeepTheTimesAccount() throws {
        var rng = SplitMix64(seed: 42)
        for round in 0..<20 {
            let times = Int(rng.below(6))
            let m = try machine(failslab: "\(1 + rng.below(3)),\(rng.below(101)),\(rng.below(512)),\(times)",
                                seed: UInt64(round))
            _ = m.writeFile(Self.failslab + "verbose", "0")
            var failures = 0
            for _ in 0..<40 {
                let size = 1 + Int(rng.below(300))
                if let p = try m.kmalloc(size, .atomic) { try m.kfree(p) } else { failures += 1 }
            }
            #expect(failures <= times)
            #expect(try m.proc(Self.failslab + "times") == "\(times - failures)\n")
        }
    }
}
