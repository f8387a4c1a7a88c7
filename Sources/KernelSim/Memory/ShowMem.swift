/// `__show_mem()` (mm/show_mem.c, Linux 6.12): the memory state a page
/// allocation failure prints after its stack dump.
///
/// What the kernel's build decides is followed here: zone lines carry a
/// `Node 0 ` prefix only with CONFIG_NUMA (x86_64; a 32-bit kernel without
/// PAE has no NUMA), the per-node line is printed either way, zones above the
/// failed request's highest zone (`gfp_zone(gfp)`) are left out, and each
/// non-empty free-list count names the migrate types with free blocks.
extension Machine {
    /// CONFIG_NUMA: x86_64 defconfig has it (one node here); x86_32 without
    /// PAE cannot (arch/x86/Kconfig: NUMA depends on X86_64 || X86_PAE).
    var numaBuild: Bool { layout.arch == .x86_64 }

    /// CONFIG_TRANSPARENT_HUGEPAGE: set in x86_64 defconfig, not in i386's.
    var thpBuild: Bool { layout.arch == .x86_64 }

    /// Kernel stacks of the simulated tasks (idle, ksoftirqd, kworker,
    /// insmod, the user program), THREAD_SIZE each: 16 KiB on x86_64, 8 KiB
    /// on x86_32.
    var kernelStackKB: Int { 5 * (layout.arch == .x86_64 ? 16 : 8) }

    /// `__show_mem(filter, nodemask, gfp_zone(gfp))` as warn_alloc_show_mem()
    /// calls it (2.6.18's show_mem() listed every zone, without migrate types).
    func showMemLines(for gfp: GFP) -> [String] {
        let v6 = config.era == .v6
        let maxZone = v6 ? gfpZoneIndex(gfp) : zones.count - 1
        let shown = zones.filter { $0.populated && $0.index <= maxZone }
        let node = numaBuild || !v6 ? "Node 0 " : ""
        let cache = pageCachePages, user = userPages
        var l = ["Mem-Info:",
                 "active_anon:\(user) inactive_anon:0 isolated_anon:0",
                 " active_file:\(cache / 2) inactive_file:\(cache - cache / 2) isolated_file:0",
                 " unevictable:0 dirty:0 writeback:0",
                 " slab_reclaimable:\(slabReclaimablePages) slab_unreclaimable:\(slabUnreclaimablePages)",
                 " mapped:0 shmem:0 pagetables:\(pageTablePages)",
                 " sec_pagetables:0 bounce:0",
                 " kernel_misc_reclaimable:0",
                 " free:\(buddy.totalFree) free_pcp:0 free_cma:0"]
        if v6 {
            // show_free_areas(): one line per node with managed zones up to
            // max_zone_idx, "Node %d" whatever CONFIG_NUMA says.
            var n = "Node 0 active_anon:\(user * 4)kB inactive_anon:0kB active_file:\(cache / 2 * 4)kB "
                + "inactive_file:\((cache - cache / 2) * 4)kB unevictable:0kB isolated(anon):0kB isolated(file):0kB "
                + "mapped:0kB dirty:0kB writeback:0kB shmem:0kB "
            if thpBuild { n += "shmem_thp:0kB shmem_pmdmapped:0kB anon_thp:0kB " }
            n += "writeback_tmp:0kB kernel_stack:\(kernelStackKB)kB pagetables:\(pageTablePages * 4)kB "
                + "sec_pagetables:0kB all_unreclaimable? no"
            l.append(n)
        }
        for z in shown {
            l.append("\(node)\(z.name) free:\(z.freePages * 4)kB boost:0kB min:\(z.wmarkMin * 4)kB low:\(z.wmarkLow * 4)kB "
                + "high:\(z.wmarkHigh * 4)kB reserved_highatomic:0KB active_anon:0kB inactive_anon:0kB "
                + "active_file:\(z.pagecache / 2 * 4)kB inactive_file:\((z.pagecache - z.pagecache / 2) * 4)kB "
                + "unevictable:0kB writepending:0kB present:\(z.present * 4)kB managed:\(z.managed * 4)kB "
                + "mlocked:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB")
            l.append("lowmem_reserve[]: " + z.lowmemReserve.map(String.init).joined(separator: " "))
        }
        for z in shown {
            var s = "\(node)\(z.name): "
            var total = 0
            for o in 0...Buddy.maxOrder {
                s += "\(z.nrFree[o])*\(4 << o)kB "
                // show_migration_types(): kmlab keeps one free list per order,
                // and every pageblock stays MIGRATE_MOVABLE as memmap_init()
                // marked it at boot, so a non-empty list prints "(M)".
                if v6 && z.nrFree[o] > 0 { s += "(M) " }
                total += z.nrFree[o] * (4 << o)
            }
            l.append(s + "= \(total)kB")
        }
        l.append("\(cache) total pagecache pages")
        // __show_mem(): RAM and reserved counted over the populated zones.
        let populated = zones.filter(\.populated)
        let present: UInt64 = populated.reduce(0) { $0 + $1.present }
        let reserved: UInt64 = populated.reduce(0) { $0 + ($1.present - $1.managed) }
        l.append("\(v6 ? present : layout.totalPages) pages RAM")
        let highPresent: UInt64 = populated.filter { $0.type == .highmem }.reduce(0) { $0 + $1.present }
        l.append("\(highPresent) pages HighMem/MovableOnly")
        l.append("\(v6 ? reserved : reservedPages) pages reserved")
        // CONFIG_MEMORY_FAILURE (the kernel /proc/meminfo's HardwareCorrupted
        // line comes from): num_poisoned_pages.
        if v6 { l.append("0 pages hwpoisoned") }
        return l
    }
}
