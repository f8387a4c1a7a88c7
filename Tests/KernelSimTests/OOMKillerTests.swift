import Foundation
import Testing
@testable import KernelSim
import SeededRandom

/// The OOM killer: mm/page_alloc.c __alloc_pages_may_oom (who gets there),
/// mm/oom_kill.c out_of_memory/oom_badness/dump_tasks/__oom_kill_process
/// (6.12) and 2.6.18's out_of_memory/badness.
@Suite struct OOMKillerTests {
    /// Touches `pages` pages of a new area of `p`; returns the 4 MiB regions
    /// (x86_32 page-table pages) the touched addresses fall in.
    @discardableResult
    func fill(_ m: Machine, _ p: UserProcess, pages: Int) throws -> Set<UInt64> {
        guard pages > 0 else { return [] }
        let base = try #require(try m.userMalloc(pages * 4096, in: p))
        var regions: Set<UInt64> = []
        for i in 0..<pages {
            let va = base + UInt64(i) * 4096
            try m.userWrite(va, bytes: [1], in: p)
            regions.insert(va >> 22)
        }
        return regions
    }

    /// Allocates GFP_KERNEL order-0 pages until the OOM killer has run
    /// `kills` times (or nothing more can be had).
    func exhaust(_ m: Machine, _ gfp: GFP = .kernel, order: Int = 0, untilKills kills: Int = 1) throws -> [UInt64] {
        var got: [UInt64] = []
        for _ in 0..<100_000 {
            guard let p = try m.getFreePages(gfp, order: order) else { break }
            got.append(p)
            if m.reports(.oomKill).count >= kills { break }
        }
        return got
    }

    /// Random process sizes (some equal, to exercise ties) on a 64 MiB
    /// machine: the first kill takes the process with the highest
    /// rss + page-table pages, and of equal ones the last in the task list
    /// (oom_evaluate_task skips only `points < oc->chosen_points`).
    @Test(arguments: 0..<6)
    func theVictimHasTheHighestBadness(seed: UInt64) throws {
        let m = try testMachine(ram: 64 << 20, seed: seed)
        var rng = SplitMix64(seed: seed)
        let n = 2 + Int(rng.next() % 4)
        var expected: [(pid: Int, points: Int, pages: Int)] = []
        for i in 0..<n {
            let p = try m.userSpawn(comm: "p\(i)")
            let pages = [0, 50, 300, 300, 1200][Int(rng.next() % 5)] + Int(rng.next() % 3)
            let regions = try fill(m, p, pages: pages)
            expected.append((p.pid, pages + regions.count, pages))
        }
        let before = m.userPages
        try exhaust(m)
        let report = try #require(m.reports(.oomKill).first)
        // a.out (pid 413) has no pages and is first in the list: it loses every tie only to later tasks.
        let best = expected.reduce((pid: 413, points: 0, pages: 0)) { $1.points >= $0.points ? $1 : $0 }
        #expect(report.fields["victim_pid"] == String(best.pid), "\(expected)")
        let victim = try #require(m.userProcess(pid: best.pid))
        #expect(victim.oomKilled)
        #expect(victim.mm.residentPages == 0 && victim.mm.areas.isEmpty)
        // Its frames went back to the buddy allocator.
        #expect(m.userPages == before - best.pages)
        #expect(m.userProcesses.allSatisfy { $0.pid != best.pid })
    }

    @Test func theVictimsPagesAreFreedAndTheAllocationSucceeds() throws {
        let m = try testMachine(ram: 64 << 20)
        let hog = try m.userSpawn(comm: "hog")
        try fill(m, hog, pages: 2000)
        let userBefore = m.userPages
        #expect(userBefore == 2000)
        var last: UInt64?
        for _ in 0..<100_000 {
            let kills = m.reports(.oomKill).count
            guard let p = try m.getFreePages(.kernel, order: 0) else { Issue.record("GFP_KERNEL failed"); return }
            if m.reports(.oomKill).count > kills { last = p; break }
        }
        // The allocation that invoked the OOM killer was retried and got a page.
        #expect(last != nil)
        #expect(m.userPages == 0)
        #expect(hog.oomKilled)
        #expect(m.reports(.allocationFailure).isEmpty)
        let r = try #require(m.reports(.oomKill).first)
        #expect(r.severity == .warning)
        #expect(r.fields["victim"] == "hog" && r.fields["freed_pages"] == "2000")
    }

    /// dump_header(), dump_tasks() and __oom_kill_process() of 6.12, line by line.
    @Test func the612ReportFormat() throws {
        let m = try testMachine(ram: 64 << 20)
        let hog = try m.userSpawn(comm: "hog")
        let regions = try fill(m, hog, pages: 1000)
        try exhaust(m)
        let lines = try #require(m.reports(.oomKill).first).lines
        #expect(lines[0] == "insmod invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0")
        #expect(lines[1].hasPrefix("CPU: 0 UID: 0 PID: 412 Comm: insmod "))
        #expect(lines.contains { $0.hasPrefix(" out_of_memory+0x") })
        #expect(lines.contains { $0.hasPrefix(" __alloc_pages_noprof+0x") })
        #expect(lines.contains("Mem-Info:"))
        let header = try #require(lines.firstIndex(of: "Tasks state (memory values in pages):"))
        #expect(lines[header + 1] == "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name")
        // pr_info("[%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %s\n", ...)
        func row(_ pid: Int, _ vm: Int, _ rss: Int, _ pgtables: Int, _ comm: String) -> String {
            String(format: "[%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %@",
                   pid, 1000, pid, vm, rss, rss, 0, 0, pgtables, 0, 0, comm)
        }
        // a.out: text, data and a 33-page stack; hog: those and its 1000 pages.
        #expect(lines[header + 2] == row(413, 35, 0, 0, "a.out"))
        #expect(lines[header + 3] == row(414, 1035, 1000, regions.count * 4096, "hog"))
        #expect(lines[header + 4] == "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=hog,pid=414,uid=1000")
        #expect(lines[header + 5] == "Out of memory: Killed process 414 (hog) total-vm:4140kB, anon-rss:4000kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:\(regions.count * 4)kB oom_score_adj:0")
        #expect(lines.count == header + 6)
    }

    /// Requests the kernel does not send to the OOM killer fail as before.
    @Test(arguments: ["atomic", "nowait", "noretry", "retry_mayfail", "costly", "dma", "nofs"])
    func requestsThatFailInstead(kind: String) throws {
        let m = try testMachine(ram: 64 << 20)
        let hog = try m.userSpawn(comm: "hog")
        try fill(m, hog, pages: 500)
        let gfp: GFP, order: Int
        switch kind {
        case "atomic": (gfp, order) = (.atomic, 0)
        case "nowait": (gfp, order) = (.nowait, 0)
        case "noretry": (gfp, order) = ([.kernel, .noretry], 0)
        case "retry_mayfail": (gfp, order) = ([.kernel, .retryMayfail], 0)
        case "costly": (gfp, order) = (.kernel, 4)
        case "dma": (gfp, order) = ([.kernel, .dma], 0)
        default: (gfp, order) = (.nofs, 0)
        }
        var n = 0
        while try m.getFreePages(gfp, order: order) != nil { n += 1; if n > 100_000 { break } }
        #expect(m.reports(.oomKill).isEmpty, "\(kind)")
        #expect(!hog.oomKilled)
        #expect(m.userPages == 500)
    }

    @Test func nothingToKillIsAPanic() throws {
        let m = try testMachine(ram: 64 << 20)
        var thrown: KernelOops?
        do {
            _ = try exhaust(m)
        } catch let e as KernelOops {
            thrown = e
        }
        let oops = try #require(thrown)
        #expect(oops.report.kind == .oomKill && oops.report.severity == .oops)
        let l = oops.report.lines
        let i = try #require(l.firstIndex(of: "Out of memory and no killable processes..."))
        #expect(l[i + 1] == "Kernel panic - not syncing: System is deadlocked on memory")
        #expect(l.last == "---[ end Kernel panic - not syncing: System is deadlocked on memory ]---")
        #expect(l.contains("Tasks state (memory values in pages):"))
        // The machine is dead: what allocates next reports the panic again.
        #expect(throws: KernelOops.self) { _ = try m.kmalloc(64, .kernel) }
        #expect(m.contexts.panicMessage == "System is deadlocked on memory")
    }

    @Test func aKilledTasksCallsNameTheKill() throws {
        let m = try testMachine(ram: 64 << 20)
        let hog = try m.userSpawn(comm: "hog")
        try fill(m, hog, pages: 800)
        try exhaust(m)
        #expect(hog.oomKilled)
        let expected = ContextError("user task 414 (hog) was killed by the OOM killer")
        #expect(throws: expected) { _ = try m.userMalloc(10, in: hog) }
        #expect(throws: expected) { _ = try m.userRead(0x1000, count: 1, in: hog) }
        #expect(throws: expected) { try m.userWrite(0x1000, bytes: [1], in: hog) }
        #expect(throws: expected) { _ = try m.syscall("anything", [], as: hog) }
        // a.out lives on.
        #expect(try m.userMalloc(10, in: m.mainUserProcess) != nil)
    }

    /// The faulting process itself is the biggest: its own page fault
    /// kills it (SIGKILL pending, the fault does not map the page).
    @Test func aProcessKilledByItsOwnFault() throws {
        let m = try testMachine(ram: 64 << 20)
        let hog = try m.userSpawn(comm: "hog")
        let base = try #require(try m.userMalloc(64 << 20, in: hog))
        var error: Error?
        for i in 0..<(64 << 20) / 4096 {
            do { try m.userWrite(base + UInt64(i) * 4096, bytes: [1], in: hog) } catch let e { error = e; break }
        }
        #expect((error as? ContextError)?.message == "user task 414 (hog) was killed by the OOM killer")
        let r = try #require(m.reports(.oomKill).first)
        #expect(r.headline == "hog invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), order=0, oom_score_adj=0" || r.headline.hasPrefix("hog invoked oom-killer: gfp_mask=0x"))
        #expect(r.lines.contains { $0.hasPrefix("CPU: 0 UID: 1000 PID: 414 Comm: hog ") })
        #expect(m.userPages == 0)
    }

    /// 2.6.18: out_of_memory()'s short header, badness() = total_vm, the
    /// first of equal scores, and the two kill lines.
    @Test func era26KillsTheLargestVirtualSize() throws {
        let m = try testMachine(ram: 64 << 20, era: .v2_6)
        let a = try m.userSpawn(comm: "resident")
        try fill(m, a, pages: 1500)
        let b = try m.userSpawn(comm: "virtual")
        _ = try m.userMalloc(64 << 20, in: b)   // large, never touched
        let c = try m.userSpawn(comm: "virtual2")
        _ = try m.userMalloc(64 << 20, in: c)   // the same size: b comes first
        try exhaust(m)
        let r = try #require(m.reports(.oomKill).first)
        #expect(r.lines[0] == "oom-killer: gfp_mask=0xd0, order=0")
        let vm = 2 + 33 + (64 << 20) / 4096
        #expect(r.lines.contains("Out of Memory: Kill process \(b.pid) (virtual) score \(vm) and children."))
        #expect(r.lines.last == "Out of memory: Killed process \(b.pid) (virtual).")
        // b had no pages to give back: the retry fails again and the same
        // request goes on to the next victim (c, the same score, after b).
        #expect(b.oomKilled && r.fields["victim"] == "virtual")
        #expect(m.reports(.oomKill).dropFirst().first?.fields["victim"] == c.comm)
    }

    @Test func sameScenarioSameLog() throws {
        func run() throws -> String {
            let m = try testMachine(ram: 64 << 20, seed: 7)
            for i in 0..<3 { try fill(m, try m.userSpawn(comm: "t\(i)"), pages: 400 * (i + 1)) }
            _ = try exhaust(m, untilKills: 3)
            return m.log.text
        }
        let a = try run(), b = try run()
        #expect(a.contains("Out of memory: Killed process"))
        #expect(a == b)
    }
}
