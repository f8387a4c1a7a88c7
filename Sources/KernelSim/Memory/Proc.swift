/// /proc views in the kernel's formats: fs/proc/meminfo.c, mm/vmstat.c
/// (buddyinfo, zoneinfo), mm/slab_common.c (slabinfo), mm/vmalloc.c
/// (vmallocinfo), mm/kmemleak.c (/sys/kernel/debug/kmemleak).
extension Machine {
    /// The paths `proc()` knows on this machine (`ProcFile.all`), sorted.
    public var procPaths: [String] { procFiles.keys.sorted() }

    /// The text of a /proc file; an unknown path throws `ProcError` naming
    /// the known ones.
    public func proc(_ path: String) throws -> String {
        guard let file = procFiles[path] else { throw ProcError(path: path, known: procPaths) }
        return try file.read(self)
    }

    // MARK: counts

    var slabReclaimablePages: Int { slab.caches.filter { $0.type == .reclaim }.reduce(0) { $0 + $1.slabPages } }
    var slabUnreclaimablePages: Int { slab.caches.filter { $0.type != .reclaim }.reduce(0) { $0 + $1.slabPages } }
    var pageCachePages: Int { zones.reduce(0) { $0 + $1.pagecache } }
    var userPages: Int { userPageCount }

    /// si_mem_available() (mm/show_mem.c).
    var memAvailablePages: Int {
        var reserve = 0, wmarkLow = 0
        for z in zones {
            let maxReserve = z.lowmemReserve.max() ?? 0
            reserve += min(Int(z.managed), maxReserve + z.wmarkHigh)
            wmarkLow += z.wmarkLow
        }
        var available = buddy.totalFree - reserve
        var cache = pageCachePages
        cache -= min(cache / 2, wmarkLow)
        available += cache
        let rcl = slabReclaimablePages
        available += rcl - min(rcl / 2, wmarkLow)
        return max(0, available)
    }

    // MARK: /proc/meminfo

    func meminfo() -> String {
        let kb = { (pages: Int) -> UInt64 in UInt64(max(0, pages)) * 4 }
        let total = Int(totalRAMPages)
        let free = buddy.totalFree
        let high = zones.filter { $0.type == .highmem }
        let highTotal = high.reduce(0) { $0 + Int($1.managed) }, highFree = high.reduce(0) { $0 + $1.freePages }
        let cache = pageCachePages
        let user = userPages
        let sr = slabReclaimablePages, su = slabUnreclaimablePages
        let vmUsed = vm.usedPages
        var out = ""
        if config.era == .v2_6 {
            func line(_ label: String, _ v: UInt64) { out += rpad(label, 14) + lpad(String(v), 8) + " kB\n" }
            line("MemTotal:", kb(total)); line("MemFree:", kb(free)); line("Buffers:", 0); line("Cached:", kb(cache))
            line("SwapCached:", 0); line("Active:", kb(cache / 2 + user)); line("Inactive:", kb(cache - cache / 2))
            if layout.arch == .x86_32 {
                line("HighTotal:", kb(highTotal)); line("HighFree:", kb(highFree))
                line("LowTotal:", kb(total - highTotal)); line("LowFree:", kb(free - highFree))
            }
            line("SwapTotal:", 0); line("SwapFree:", 0); line("Dirty:", 0); line("Writeback:", 0)
            line("AnonPages:", kb(user)); line("Mapped:", 0); line("Slab:", kb(sr + su))
            line("PageTables:", kb(pageTablePages)); line("NFS_Unstable:", 0); line("Bounce:", 0)
            line("CommitLimit:", kb(total / 2)); line("Committed_AS:", kb(user))
            line("VmallocTotal:", layout.vmallocTotal >> 10)
            line("VmallocUsed:", vm.areas.reduce(0) { $0 + $1.size } >> 10)
            line("VmallocChunk:", largestVmallocHole() >> 10)
            out += "HugePages_Total:     0\nHugePages_Free:      0\nHugePages_Rsvd:      0\n"
            out += "Hugepagesize:     " + String(layout.arch == .x86_32 ? 4096 : 2048) + " kB\n"
            return out
        }
        func line(_ label: String, _ v: UInt64) { out += rpad(label, 16) + lpad(String(v), 8) + " kB\n" }
        line("MemTotal:", kb(total)); line("MemFree:", kb(free)); line("MemAvailable:", kb(memAvailablePages))
        line("Buffers:", 0); line("Cached:", kb(cache)); line("SwapCached:", 0)
        line("Active:", kb(user + cache / 2)); line("Inactive:", kb(cache - cache / 2))
        line("Active(anon):", kb(user)); line("Inactive(anon):", 0)
        line("Active(file):", kb(cache / 2)); line("Inactive(file):", kb(cache - cache / 2))
        line("Unevictable:", 0); line("Mlocked:", 0)
        if layout.arch == .x86_32 {
            line("HighTotal:", kb(highTotal)); line("HighFree:", kb(highFree))
            line("LowTotal:", kb(total - highTotal)); line("LowFree:", kb(free - highFree))
        }
        line("SwapTotal:", 0); line("SwapFree:", 0); line("Zswap:", 0); line("Zswapped:", 0)
        line("Dirty:", 0); line("Writeback:", 0); line("AnonPages:", kb(user)); line("Mapped:", 0)
        line("Shmem:", 0); line("KReclaimable:", kb(sr)); line("Slab:", kb(sr + su))
        line("SReclaimable:", kb(sr)); line("SUnreclaim:", kb(su))
        // One THREAD_SIZE stack per task alive since boot (the same tasks
        // whose vmap'd stacks /proc/vmallocinfo lists on x86_64).
        line("KernelStack:", UInt64(bootTasks) * (layout.arch == .x86_64 ? 16 : 8))
        line("PageTables:", kb(pageTablePages)); line("SecPageTables:", 0); line("NFS_Unstable:", 0)
        line("Bounce:", 0); line("WritebackTmp:", 0); line("CommitLimit:", kb(total / 2))
        line("Committed_AS:", kb(user + vmUsed)); line("VmallocTotal:", layout.vmallocTotal >> 10)
        line("VmallocUsed:", kb(vmUsed)); line("VmallocChunk:", 0)
        line("Percpu:", layout.arch == .x86_64 ? 576 : 256)
        // fs/proc/meminfo.c: "HardwareCorrupted: %5lu kB" (a space after the colon).
        out += "HardwareCorrupted: " + lpad("0", 5) + " kB\n"
        if layout.arch == .x86_64 {
            line("AnonHugePages:", 0); line("ShmemHugePages:", 0); line("ShmemPmdMapped:", 0)
            line("FileHugePages:", 0); line("FilePmdMapped:", 0)
        }
        out += "HugePages_Total:" + lpad("0", 8) + "\n" + "HugePages_Free:" + lpad("0", 9) + "\n"
        out += "HugePages_Rsvd:" + lpad("0", 9) + "\n" + "HugePages_Surp:" + lpad("0", 9) + "\n"
        line("Hugepagesize:", layout.arch == .x86_32 ? 4096 : 2048)
        line("Hugetlb:", 0)
        let low = layout.maxLowPfn << 12
        if layout.arch == .x86_32 {
            line("DirectMap4k:", (low & ((1 << 22) - 1)) >> 10)
            line("DirectMap4M:", (low >> 22) << 12)
        } else {
            let g = low >> 30, m = (low & ((1 << 30) - 1)) >> 21, k = (low & ((1 << 21) - 1)) >> 12
            line("DirectMap4k:", k * 4); line("DirectMap2M:", m * 2048); line("DirectMap1G:", g << 20)
        }
        return out
    }

    func largestVmallocHole() -> UInt64 {
        var best: UInt64 = 0
        var addr = layout.vmallocStart
        for a in vm.areas {
            if a.start > addr { best = max(best, a.start - addr) }
            addr = max(addr, a.end)
        }
        if layout.vmallocEnd > addr { best = max(best, layout.vmallocEnd - addr) }
        return best
    }

    // MARK: /proc/buddyinfo

    /// frag_show_print(): "Node 0, zone %8s " then "%6lu " per order.
    func buddyinfo() -> String {
        var out = ""
        for z in zones where z.populated {
            out += "Node 0, zone " + lpad(z.name, 8) + " "
            for o in 0...Buddy.maxOrder { out += lpad(String(z.nrFree[o]), 6) + " " }
            out += "\n"
        }
        return out
    }

    // MARK: /proc/zoneinfo

    func zoneinfo() -> String {
        var out = ""
        let v6 = config.era == .v6
        var firstPopulated = true
        for z in zones {
            if !v6 && !z.populated { continue }
            out += "Node 0, zone " + lpad(z.name, 8)
            if v6 && z.populated && firstPopulated {
                firstPopulated = false
                let cache = pageCachePages, user = userPages
                let nodeStats: [(String, Int)] = [
                    ("nr_inactive_anon", 0), ("nr_active_anon", user), ("nr_inactive_file", cache - cache / 2),
                    ("nr_active_file", cache / 2), ("nr_unevictable", 0),
                    ("nr_slab_reclaimable", slabReclaimablePages), ("nr_slab_unreclaimable", slabUnreclaimablePages),
                    ("nr_isolated_anon", 0), ("nr_isolated_file", 0), ("nr_anon_pages", user), ("nr_mapped", 0),
                    ("nr_file_pages", cache), ("nr_dirty", 0), ("nr_writeback", 0), ("nr_shmem", 0),
                    ("nr_kernel_stack", layout.arch == .x86_64 ? 32 : 16), ("nr_page_table_pages", pageTablePages),
                ]
                out += "\n  per-node stats"
                for (n, v) in nodeStats { out += "\n      " + rpad(n, 12) + " \(v)" }
            }
            if v6 {
                out += "\n  pages free     \(z.freePages)"
                out += "\n        boost    0"
                out += "\n        min      \(z.wmarkMin)"
                out += "\n        low      \(z.wmarkLow)"
                out += "\n        high     \(z.wmarkHigh)"
                out += "\n        promo    \(z.wmarkPromo)"
                out += "\n        spanned  \(z.spanned)"
                out += "\n        present  \(z.present)"
                out += "\n        managed  \(z.managed)"
                out += "\n        cma      0"
                out += "\n        protection: (" + z.lowmemReserve.map(String.init).joined(separator: ", ") + ")"
                if !z.populated {
                    out += "\n"
                    continue
                }
                let zoneStats: [(String, Int)] = [
                    ("nr_free_pages", z.freePages), ("nr_zone_inactive_anon", 0), ("nr_zone_active_anon", 0),
                    ("nr_zone_inactive_file", z.pagecache - z.pagecache / 2), ("nr_zone_active_file", z.pagecache / 2),
                    ("nr_zone_unevictable", 0), ("nr_zone_write_pending", 0), ("nr_mlock", 0), ("nr_bounce", 0),
                    ("nr_zspages", 0), ("nr_free_cma", 0),
                ]
                for (n, v) in zoneStats { out += "\n      " + rpad(n, 12) + " \(v)" }
                // mm/vmstat.c zoneinfo_show_print(): the NUMA event counters
                // with CONFIG_NUMA (x86_64); every allocation is node-local
                // on a one-node machine.
                if numaBuild {
                    let hits = z.numaHits
                    for (n, v) in [("numa_hit", hits), ("numa_miss", 0), ("numa_foreign", 0),
                                   ("numa_interleave", 0), ("numa_local", hits), ("numa_other", 0)] {
                        out += "\n      " + rpad(n, 12) + " \(v)"
                    }
                }
                // 6.12's pageset block (high_min/high_max since 6.7's PCP auto-tuning).
                out += "\n  pagesets\n    cpu: 0\n              count:    0\n              high:     0"
                out += "\n              batch:    1\n              high_min: 0\n              high_max: 0"
                out += "\n  vm stats threshold: 0"
                out += "\n  node_unreclaimable:  0"
                out += "\n  start_pfn:           \(z.reportedStart)\n"
            } else {
                out += "\n  pages free     \(z.freePages)"
                out += "\n        min      \(z.wmarkMin)"
                out += "\n        low      \(z.wmarkLow)"
                out += "\n        high     \(z.wmarkHigh)"
                out += "\n        active   \(z.pagecache / 2)"
                out += "\n        inactive \(z.pagecache - z.pagecache / 2)"
                out += "\n        scanned  0 (a: 0 i: 0)"
                out += "\n        spanned  \(z.spanned)"
                out += "\n        present  \(z.present)"
                out += "\n    nr_anon_pages 0"
                out += "\n    nr_mapped    0"
                out += "\n    nr_file_pages \(z.pagecache)"
                out += "\n        protection: (" + z.lowmemReserve.map(String.init).joined(separator: ", ") + ")"
                // 2.6.18's zoneinfo_show() (mm/vmstat.c) skips a CPU whose hot
                // and cold per-CPU lists are both empty; kmlab keeps no per-CPU
                // page lists (every free page is on the buddy lists), so every
                // CPU is skipped and the block is its title alone.
                out += "\n  pagesets"
                out += "\n  all_unreclaimable: 0\n  prev_priority:     12\n  start_pfn:         \(z.reportedStart)\n"
            }
        }
        return out
    }

    // MARK: /proc/slabinfo

    func slabinfo() -> String {
        var out = "slabinfo - version: 2.1\n"
        out += "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
        // The cache list is newest first; kmalloc caches were created in size order.
        for c in slab.caches.reversed() where !c.destroyed {
            let active: Int, activeSlabs: Int
            if slab.v6 {
                active = c.totalObjects - c.freeInPartial
                activeSlabs = c.nrSlabs
            } else {
                active = c.inuse
                var n = 0
                for s in 0..<c.slabState.count where c.slabState[s] != 0 && c.slabInuse[s] > 0 { n += 1 }
                activeSlabs = n
            }
            out += rpad(c.name, 17) + " " + lpad(String(active), 6) + " " + lpad(String(c.totalObjects), 6) + " "
                + lpad(String(c.size), 6) + " " + lpad(String(c.objsPerSlab), 4) + " " + lpad(String(1 << c.order), 4)
            out += " : tunables " + lpad(String(c.limit), 4) + " " + lpad(String(c.batchcount), 4) + " "
                + lpad(String(c.shared), 4)
            out += " : slabdata " + lpad(String(activeSlabs), 6) + " " + lpad(String(c.nrSlabs), 6) + " "
                + lpad("0", 6) + "\n"
        }
        return out
    }

    // MARK: /proc/vmallocinfo

    /// s_show() (mm/vmalloc.c): "0x%pK-0x%pK %7ld %pS pages=%d phys=%pa",
    /// the kind (" ioremap", " vmalloc"), " vpages" when the page array
    /// itself was vmalloc'ed, then the NUMA counts.
    func vmallocinfo() -> String {
        var out = ""
        for a in vm.areas {
            out += "0x\(px(a.start))-0x\(px(a.end)) " + lpad(String(a.size), 7) + " \(a.caller)"
            if !a.pages.isEmpty { out += " pages=\(a.pages.count)" }
            // %pa: a phys_addr_t, 32 bits on x86_32 without PAE.
            if let p = a.physAddr { out += " phys=0x" + hexPad(p, layout.pointerSize * 2) }
            out += " " + a.flagName
            if a.pages.count * layout.pointerSize > 4096 { out += " vpages" }
            // show_numa_info(): x86_64 kernels are built with CONFIG_NUMA (one node here).
            if layout.arch == .x86_64 && !a.pages.isEmpty { out += " N0=\(a.pages.count)" }
            out += "\n"
        }
        return out
    }
}
