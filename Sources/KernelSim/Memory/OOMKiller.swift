/// The OOM killer (mm/oom_kill.c; mm/page_alloc.c __alloc_pages_may_oom),
/// in the release the machine's era names.
///
/// 6.12: an allocation of order <= PAGE_ALLOC_COSTLY_ORDER (3) that may
/// sleep, without __GFP_NORETRY, __GFP_RETRY_MAYFAIL or __GFP_THISNODE,
/// whose highest zone is ZONE_NORMAL or above, comes here once reclaim
/// has nothing left. out_of_memory() picks the user process with the
/// highest oom_badness() (rss + swap entries + page-table pages; of equal
/// scores the last one in the task list, as oom_evaluate_task() only skips
/// a task whose points are lower), prints dump_header() and the kill, and
/// the victim's memory goes back to the buddy allocator (here at once: on
/// one CPU the victim runs next and exit_mmap() frees it). The allocation
/// is then retried. With nothing to kill: "Out of memory and no killable
/// processes..." and panic("System is deadlocked on memory").
///
/// 2.6.18: __alloc_pages() calls out_of_memory() whenever reclaim made no
/// progress for a __GFP_FS request without __GFP_NORETRY, whatever the
/// order; badness() is the task's total_vm (kmlab's tasks have used no CPU
/// time and are seconds old, so the CPU-time and run-time divisors of
/// 2.6.18's badness() are 1), the first task with the highest score wins,
/// and the report is the short one of that release.
///
/// Simplifications: the candidates are the user processes of `user` and
/// `user.spawn` (insmod, the script itself, is left out); a sleeping
/// request in atomic context fails instead (see oomAllowed); GFP_NOFS and
/// GFP_NOIO requests, which the kernel keeps retrying without killing
/// anything (out_of_memory() returns true for !__GFP_FS), fail with
/// warn_alloc instead, as kmlab's one CPU has no other task to free memory.
extension Machine {
    /// PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h).
    static let pageAllocCostlyOrder = 3

    /// What out_of_memory() did.
    enum OOMOutcome {
        /// A process was killed and its memory freed: retry.
        case killed(UserProcess)
        /// Nothing was done (the request may fail as it would have).
        case nothing
        /// No process could be killed: the machine panicked.
        case panicked
    }

    /// Whether reclaim's failure goes to the OOM killer for this request.
    func oomAllowed(_ gfp: GFP, _ order: Int, _ highest: Int) -> Bool {
        guard oomPanic == nil else { return false }
        // A sleeping request made in atomic context has already had its
        // "sleeping function called from invalid context" report; the
        // kernel's reclaim would go on to schedule while atomic. kmlab lets
        // it fail there, so that first report stays the one the script sees.
        guard contexts.canSleep else { return false }
        if config.era == .v2_6 {
            // 2.6.18 __alloc_pages(): `else if ((gfp_mask & __GFP_FS) && !(gfp_mask & __GFP_NORETRY))`.
            return gfp.contains(.fs) && !gfp.contains(.noretry)
        }
        // 6.12 __alloc_pages_slowpath() and __alloc_pages_may_oom().
        guard gfp.allowsBlocking, !gfp.contains(.noretry), order <= Machine.pageAllocCostlyOrder,
              gfp.isDisjoint(with: [.retryMayfail, .thisnode]) else { return false }
        // "The OOM killer does not needlessly kill tasks for lowmem".
        let type = zones.indices.contains(highest) ? zones[highest].type : .dma
        guard type != .dma && type != .dma32 else { return false }
        // out_of_memory(): `if (!(oc->gfp_mask & __GFP_FS)) return true;`
        // without killing; see the type's comment for what kmlab does.
        return gfp.contains(.fs)
    }

    /// out_of_memory(): choose, report, kill; or panic.
    func outOfMemory(_ gfp: GFP, _ order: Int) -> OOMOutcome {
        let candidates = userProcesses
        let victim = config.era == .v2_6 ? selectBadProcess26(candidates) : selectBadProcess(candidates)
        guard let victim else {
            return oomPanic(lines: oomHeader(gfp, order), gfp: gfp, order: order)
        }
        let t = victim.task
        let usage = victim.mm.usage(pointerBits: contexts.pointerBits)
        var lines: [String] = []
        if config.era == .v2_6 {
            // 2.6.18 out_of_memory(): the header under printk_ratelimit().
            if printkRatelimitOK() { lines = oomHeader(gfp, order) }
            lines.append("Out of Memory: Kill process \(t.pid) (\(t.comm)) score \(usage.totalVM) and children.")
            lines.append("Out of memory: Killed process \(t.pid) (\(t.comm)).")
        } else {
            // oom_kill_process(): dump_header() and the one-line summary
            // under oom_rs (DEFAULT_RATELIMIT_INTERVAL 5 s, burst 10); the
            // kill line always.
            if oomRatelimitOK() {
                lines = oomHeader(gfp, order)
                lines.append("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                    + "task_memcg=/,task=\(t.comm),pid=\(t.pid),uid=\(t.uid)")
            }
            lines.append("Out of memory: Killed process \(t.pid) (\(t.comm)) total-vm:\(usage.totalVM * 4)kB, "
                + "anon-rss:\(usage.rss * 4)kB, file-rss:0kB, shmem-rss:0kB, UID:\(t.uid) "
                + "pgtables:\(usage.pgtablesBytes >> 10)kB oom_score_adj:0")
        }
        raise(KernelReport(kind: .oomKill, severity: .warning, lines: lines, context: contexts.contextName,
                           fields: ["gfp": gfp.mode, "order": String(order), "victim_pid": String(t.pid),
                                    "victim": t.comm, "freed_pages": String(usage.rss)]))
        reapProcess(victim)
        return .killed(victim)
    }

    /// `__ratelimit(&oom_rs)`: 10 reports per 5 s of simulated time.
    private func oomRatelimitOK() -> Bool { oomRatelimit.check(at: clockNanoseconds).allowed }

    /// 2.6.18's printk_ratelimit(): also 10 per 5 s (printk_ratelimit_jiffies
    /// 5 * HZ, printk_ratelimit_burst 10).
    private func printkRatelimitOK() -> Bool { oomRatelimitOK() }

    /// dump_header() up to and including the task dump.
    private func oomHeader(_ gfp: GFP, _ order: Int) -> [String] {
        var lines: [String]
        let frames = ["dump_stack_lvl", "dump_header", "oom_kill_process", "out_of_memory",
                      "__alloc_pages_slowpath.constprop.0", "__alloc_pages_noprof"].map { symbol($0) }
        if config.era == .v2_6 {
            // 2.6.18 out_of_memory(): printk("oom-killer: gfp_mask=0x%x, order=%d\n"), dump_stack(), show_mem().
            lines = ["oom-killer: gfp_mask=0x\(String(GFPLegacy.value(gfp), radix: 16)), order=\(order)"]
            lines += dumpStackLines(kernelFrames: ["dump_stack", "out_of_memory", "__alloc_pages"].map { symbol($0) })
            lines += showMemLines(for: gfp)
            return lines
        }
        lines = ["\(contexts.currentComm) invoked oom-killer: gfp_mask=\(gfp.mode), order=\(order), oom_score_adj=0"]
        lines += dumpStackLines(kernelFrames: frames)
        lines += showMemLines(for: gfp)
        // dump_tasks(): every process with an mm that is not init or a kernel thread.
        lines.append("Tasks state (memory values in pages):")
        lines.append("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name")
        for p in userProcesses {
            let u = p.mm.usage(pointerBits: contexts.pointerBits)
            let t = p.task
            lines.append("[\(lpad(String(t.pid), 7))] \(lpad(String(t.uid), 5)) \(lpad(String(t.pid), 5)) "
                + "\(lpad(String(u.totalVM), 8)) \(lpad(String(u.rss), 8)) \(lpad(String(u.rss), 8)) "
                + "\(lpad("0", 8)) \(lpad("0", 9)) \(lpad(String(u.pgtablesBytes), 8)) \(lpad("0", 8))         "
                + "\(lpad("0", 5)) \(t.comm)")
        }
        return lines
    }

    /// select_bad_process() of 6.12: oom_badness() = rss + swapents +
    /// pgtables_bytes / PAGE_SIZE (oom_score_adj 0); `points <
    /// chosen_points` skips, so of equal scores the later task wins.
    func selectBadProcess(_ candidates: [UserProcess]) -> UserProcess? {
        var chosen: UserProcess?
        var chosenPoints = Int.min
        for p in candidates {
            let points = oomBadness(p)
            if points < chosenPoints { continue }
            chosen = p
            chosenPoints = points
        }
        return chosen
    }

    /// oom_badness() of 6.12 for a process (oom_score_adj 0, no swap).
    public func oomBadness(_ p: UserProcess) -> Int {
        let u = p.mm.usage(pointerBits: contexts.pointerBits)
        return u.rss + u.pgtablesBytes / 4096
    }

    /// select_bad_process() of 2.6.18: badness() is total_vm here, and
    /// `points > *ppoints || !chosen` keeps the first of equal scores.
    func selectBadProcess26(_ candidates: [UserProcess]) -> UserProcess? {
        var chosen: UserProcess?
        var chosenPoints = 0
        for p in candidates {
            let points = p.mm.usage(pointerBits: contexts.pointerBits).totalVM
            if points > chosenPoints || chosen == nil {
                chosen = p
                chosenPoints = points
            }
        }
        return chosen
    }

    /// The victim exits: SIGKILL, then exit_mmap() unmaps every area and
    /// its frames go back to the page allocator.
    func reapProcess(_ p: UserProcess) {
        p.oomKilled = true
        p.mm.dead = true
        for pfn in p.mm.pages.values.sorted() { try? freeUserPage(pfn) }
        p.mm.pages.removeAll()
        p.mm.removeAll()
    }

    /// No process to kill: 6.12 prints the header and "Out of memory and
    /// no killable processes...", then panics "System is deadlocked on
    /// memory"; 2.6.18 panics "Out of memory and no killable processes...".
    private func oomPanic(lines header: [String], gfp: GFP, order: Int) -> OOMOutcome {
        var lines = header
        let message: String
        if config.era == .v2_6 {
            message = "Out of memory and no killable processes..."
        } else {
            lines.append("Out of memory and no killable processes...")
            message = "System is deadlocked on memory"
        }
        lines.append("Kernel panic - not syncing: \(message)")
        lines += dumpStackLines(kernelFrames: ["dump_stack_lvl", "panic", "out_of_memory",
                                               "__alloc_pages_slowpath.constprop.0", "__alloc_pages_noprof"].map { symbol($0) })
        lines.append("---[ end Kernel panic - not syncing: \(message) ]---")
        contexts.panicMessage = message
        oomPanic = oops(kind: .oomKill, lines: lines, fields: ["gfp": gfp.mode, "order": String(order), "panic": message])
        return .panicked
    }

    /// After the OOM killer panicked, the machine is dead: the first kernel
    /// function that can report it ends the script with the panic.
    func throwIfPanicked() throws {
        if let p = oomPanic { throw p }
    }
}

/// What the task dump and the kill line print of an address space.
struct MemoryUsage {
    /// mm->total_vm: pages of every area.
    var totalVM: Int
    /// get_mm_rss(): pages present (all anonymous here).
    var rss: Int
    /// mm_pgtables_bytes(): the page tables below the pgd that map the
    /// present pages (one PTE page per 4 MiB on x86_32; PTE, PMD and PUD
    /// pages per 2 MiB, 1 GiB and 512 GiB on x86_64). kmlab counts them, it
    /// does not allocate them.
    var pgtablesBytes: Int
}

extension UserAddressSpace {
    func usage(pointerBits: Int) -> MemoryUsage {
        let total = areas.reduce(0) { $0 + Int((($1.end - $1.start) + 4095) >> 12) }
        var tables = 0
        if pointerBits == 64 {
            tables = Set(pages.keys.map { $0 >> 9 }).count + Set(pages.keys.map { $0 >> 18 }).count
                + Set(pages.keys.map { $0 >> 27 }).count
        } else {
            tables = Set(pages.keys.map { $0 >> 10 }).count
        }
        return MemoryUsage(totalVM: total, rss: pages.count, pgtablesBytes: tables * 4096)
    }

    /// exit_mmap(): nothing is mapped any more.
    func removeAll() { removeAllAreas() }
}
