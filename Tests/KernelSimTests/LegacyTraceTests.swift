import Testing
@testable import KernelSim

/// Era 2.6 prints 2.6.18's stack traces and WARN_ON, not 6.12's:
/// arch/i386/kernel/traps.c (show_trace_log_lvl, print_trace_address),
/// arch/x86_64/kernel/traps.c (show_trace, printk_address),
/// include/asm-generic/bug.h (WARN_ON).
@Suite struct LegacyTraceTests {
    static func isFrame(_ line: String, digits: Int) -> Bool {
        guard line.hasPrefix(" [<"), let close = line.range(of: ">] ") else { return false }
        let address = line[line.index(line.startIndex, offsetBy: 3)..<close.lowerBound]
        return address.count == digits && address.allSatisfy(\.isHexDigit) && !line[close.upperBound...].isEmpty
    }

    func sleepingReport(_ arch: Arch) throws -> KernelReport {
        let m = try testMachine(arch, era: .v2_6)
        try m.spinLock(m.spinLockInit(name: "&l"))
        m.mightSleep(file: "mm/slab.c", line: 2903)
        return try #require(m.reports(.sleepingInAtomic).first)
    }

    @Test func i386DumpStackIsAddressedFramesAndTheRule_showTraceLogLvl2618() throws {
        let r = try sleepingReport(.x86_32)
        let trace = Array(r.lines.dropFirst(2))
        #expect(trace.last == " =======================")
        let frames = trace.dropLast()
        #expect(!frames.isEmpty && frames.allSatisfy { Self.isFrame($0, digits: 8) }, "\(r.lines)")
        #expect(frames.first?.hasSuffix("] dump_stack") == true)
        // dump_stack() in 2.6.18 is show_trace(): no Call Trace header, no
        // CPU/Hardware name lines, no <TASK> markers.
        #expect(!r.lines.contains { $0.hasPrefix("CPU:") || $0.hasPrefix("Hardware name:") || $0 == "Call Trace:" || $0.contains("<TASK>") })
    }

    @Test func x86_64ShowTraceHasItsBlankLinesAndLongAddresses_x8664Traps2618() throws {
        let r = try sleepingReport(.x86_64)
        let trace = Array(r.lines.dropFirst(2))
        #expect(Array(trace.prefix(2)) == ["", "Call Trace:"])
        #expect(trace.last == "")
        let frames = trace.dropFirst(2).dropLast()
        #expect(!frames.isEmpty && frames.allSatisfy { Self.isFrame($0, digits: 16) }, "\(r.lines)")
        #expect(frames.allSatisfy { $0.hasPrefix(" [<ffffffff8") })
    }

    /// The same frame is at the same address in every machine and run.
    @Test func addressesAreStable() throws {
        #expect(try sleepingReport(.x86_32).lines == (try sleepingReport(.x86_32)).lines)
        let m = try testMachine(era: .v2_6)
        let a = m.legacyTrace(["kfree+0x18/0x40"], header: false)
        let b = m.legacyTrace(["kfree+0x10/0x40"], header: false)
        #expect(a.count == 2 && b.count == 2)
        // Offsets move within one function's place.
        let address = { (line: String) in UInt64(line.dropFirst(3).prefix(8), radix: 16) ?? 0 }
        #expect(address(a[0]) - address(b[0]) == 8)
    }

    @Test func warnOnIsBugWarningAtAndADumpStack_asmGenericBugH2618() throws {
        let m = try testMachine(era: .v2_6)
        let r = m.warnReport(message: "", file: "mm/vmalloc.c", line: 3200, function: "__vmalloc_node_range+0x1c/0x40")
        #expect(r.lines[0] == "BUG: warning at mm/vmalloc.c:3200/__vmalloc_node_range()")
        #expect(r.headline == r.lines[0])
        #expect(r.lines.last == " =======================")
        #expect(!r.lines.contains { $0.contains("cut here") || $0.hasPrefix("Modules linked in") || $0.hasPrefix("---[ end trace") })
        // TAINT_WARN came in 2.6.26.
        #expect(!m.taint.contains(.warn))

        let modern = try testMachine(era: .v6)
        let w = modern.warnReport(message: "", file: "mm/vmalloc.c", line: 3200, function: "__vmalloc_node_range+0x1c/0x40")
        #expect(w.lines[0] == "------------[ cut here ]------------")
        #expect(modern.taint.contains(.warn))
    }
}

/// 2.6.18's /proc/zoneinfo pagesets block (mm/vmstat.c zoneinfo_show): a CPU
/// whose hot and cold lists are both empty is skipped, and kmlab keeps no
/// per-CPU page lists, so the block is its title alone, followed at once by
/// the zone's closing lines; 6.12 prints every CPU.
@Suite struct LegacyZoneinfoTests {
    @Test(arguments: [Arch.x86_32, .x86_64])
    func pagesetsSkipsCPUsWithEmptyLists_vmstatZoneinfoShow2618(arch: Arch) throws {
        let text = try testMachine(arch, era: .v2_6).proc("/proc/zoneinfo")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let pagesets = lines.indices.filter { lines[$0] == "  pagesets" }
        #expect(!pagesets.isEmpty)
        for i in pagesets where i + 1 < lines.count {
            #expect(lines[i + 1] == "  all_unreclaimable: 0")
        }
        #expect(!text.contains("cpu:"))
        #expect(try testMachine(arch, era: .v6).proc("/proc/zoneinfo").contains("\n    cpu: 0\n"))
    }
}
