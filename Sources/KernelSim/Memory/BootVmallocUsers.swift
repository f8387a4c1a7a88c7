/// The vmalloc-area users a kernel already has when the script's module
/// loads, so that /proc/vmallocinfo after boot looks like a real machine's
/// (mm/vmalloc.c s_show) and a learner can count them: "vmalloc is rarely
/// used" is not what a booted kernel shows.
///
/// They are real areas: they take vmalloc address space first-fit in boot
/// order, the page-backed ones have frames of their own (owner vmalloc),
/// and /proc/meminfo's VmallocUsed counts them. Their frames are taken from
/// the newest boot page cache (see bootFrames): a real boot allocates them
/// long before anything reads files, so they never sit where the script's
/// first allocations go, and the free lists the script starts from are the
/// ones a kernel without them would have. ioremap areas map device memory
/// and have no frames at all. They are
/// the kernel's, not the script's: kmemleak and graders' leak counts skip
/// them, the memory map does not draw them, and vfree() of one is refused
/// as of an area that does not exist.
///
/// Per machine (QEMU i440FX, one CPU, one NUMA node):
/// - every kernel: ACPI tables mapped by acpi_os_map_iomem() and the HPET
///   registers by hpet_enable(), both ioremap (no pages of their own);
/// - 6.x x86_64: a vmap'd 16 KiB stack (CONFIG_VMAP_STACK, kernel/fork.c
///   alloc_thread_stack_node, inlined into dup_task_struct) for each of the
///   64 tasks alive at that point on one CPU (7 more per further CPU), the tty layer's n_tty_data
///   (drivers/tty/n_tty.c n_tty_open, vzalloc), systemd's BPF cgroup
///   programs (kernel/bpf/core.c bpf_prog_alloc_no_stats, vzalloc), and a
///   second per-cpu chunk (mm/percpu-vm.c via pcpu_get_vm_areas, placed at
///   the top of the area, without pages of its own);
/// - 6.x x86_32: no vmap'd stacks (HAVE_ARCH_VMAP_STACK is 64-bit only),
///   n_tty and BPF as above, and the module's own memory: on x86_32 modules
///   live in the vmalloc area (execmem_alloc);
/// - 2.6.18 x86_32: the module (module_alloc); x86_64 2.6.18 keeps modules
///   in their own area, so only the two ioremaps.
/// No alloc_large_system_hash entries: with a single node `hashdist` is 0
/// and the big hash tables come from memblock (mm/mm_init.c).
extension Machine {
    struct BootVmallocUser {
        var caller: String
        /// Bytes mapped (the guard page comes on top).
        var bytes: UInt64
        var pages: Bool
        var flag: String
        var phys: UInt64?
        var count: Int
    }

    /// How many task stacks a freshly booted one-CPU 6.x x86_64 machine
    /// has vmap'd.
    static let bootTaskStacks = 64
    /// Each further CPU brings its idle task (fork_idle) and its per-CPU
    /// kernel threads: cpuhp, migration, ksoftirqd, idle_inject, and the
    /// kworker/N:0 and N:0H of its worker pools.
    static let stacksPerExtraCPU = 7

    /// The vmalloc areas the script made (not the kernel's boot-time ones).
    var scriptVmAreas: [VmArea] { vm.areas.filter { !$0.kernelOwned } }

    /// Tasks alive when the script's module loads.
    var bootTasks: Int { Machine.bootTaskStacks + Machine.stacksPerExtraCPU * (config.cpus - 1) }

    func bootVmallocUserList() -> [BootVmallocUser] {
        let acpi = BootVmallocUser(caller: config.era == .v6 ? "acpi_os_map_iomem+0x1c4/0x200" : "acpi_os_map_memory+0x2e/0x40",
                                   bytes: 4096, pages: false, flag: "ioremap", phys: 0xf5000, count: 1)
        let hpet = BootVmallocUser(caller: config.era == .v6 ? "hpet_enable+0x3e/0x2f0" : "hpet_enable+0x26/0x2a0",
                                   bytes: 4096, pages: false, flag: "ioremap", phys: 0xfed0_0000, count: 1)
        var list = [acpi, hpet]
        switch (config.era, layout.arch) {
        case (.v6, .x86_64):
            list.append(BootVmallocUser(caller: "dup_task_struct+0x4e/0x1b0", bytes: 16384, pages: true, flag: "vmalloc",
                                        phys: nil, count: bootTasks))
            list.append(BootVmallocUser(caller: "n_tty_open+0x16/0xe0", bytes: 12288, pages: true, flag: "vmalloc", phys: nil, count: 2))
            list.append(BootVmallocUser(caller: "bpf_prog_alloc_no_stats+0x4f/0x110", bytes: 4096, pages: true, flag: "vmalloc",
                                        phys: nil, count: 4))
        case (.v6, .x86_32):
            list.append(BootVmallocUser(caller: "n_tty_open+0x16/0xe0", bytes: 12288, pages: true, flag: "vmalloc", phys: nil, count: 2))
            list.append(BootVmallocUser(caller: "bpf_prog_alloc_no_stats+0x3d/0xf0", bytes: 4096, pages: true, flag: "vmalloc",
                                        phys: nil, count: 4))
            list.append(BootVmallocUser(caller: "execmem_alloc+0x25/0x50", bytes: 8192, pages: true, flag: "vmalloc", phys: nil, count: 2))
        case (.v2_6, .x86_32):
            list.append(BootVmallocUser(caller: "module_alloc+0x1f/0x30", bytes: 16384, pages: true, flag: "vmalloc", phys: nil, count: 1))
        case (.v2_6, .x86_64):
            break
        }
        return list
    }

    /// Creates the boot-time areas (called once, at the end of boot).
    func bootVmallocUsers() {
        let list = bootVmallocUserList()
        let needed = list.reduce(0) { $0 + ($1.pages ? $1.count * Int($1.bytes >> 12) : 0) }
        var frames = bootFrames(needed)[...]
        for user in list {
            for _ in 0..<user.count { _ = bootVmallocArea(user, frames: &frames) }
        }
        // Frames no area could take (no address space left) go back.
        for pfn in frames { freePagesInternal(pfn, order: 0) }
        if config.era == .v6, layout.arch == .x86_64 {
            // pcpu_get_vm_areas() allocates from the top of the area down; a
            // 2 MiB chunk, its pages mapped by percpu-vm.c, not by the area.
            let size: UInt64 = 2 << 20
            let start = (layout.vmallocEnd &+ 1) &- 2 * size
            if vm.area(containing: start) == nil {
                let a = VmArea(id: vm.nextId, start: start, size: size, requested: Int(size), pages: [],
                               caller: "pcpu_get_vm_areas+0x0/0x1100", info: newAllocInfo())
                vm.nextId += 1
                a.kernelOwned = true
                a.pageBacked = false
                vm.insert(a)
            }
        }
    }

    /// `count` order-0 frames for the boot-time areas, taken from the page
    /// cache the boot just filled, newest first, so that the buddy free
    /// lists (which frames the script's allocations get, MemFree) are what
    /// they would be without these areas; only Cached shrinks. A page-cache
    /// block is split: the frames needed become vmalloc frames, the rest
    /// stays page cache in aligned blocks. Whatever the page cache cannot
    /// give (a machine too small to have any) comes from the page allocator.
    private func bootFrames(_ count: Int) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        // Blocks outside ZONE_DMA first (vmalloc's GFP_KERNEL prefers the
        // higher zones); ZONE_DMA's only if nothing else is cached.
        for allowDMA in [false, true] {
            var i = lru.entries.count - 1
            while out.count < count && i >= lru.head {
                defer { i -= 1 }
                let e = lru.entries[i]
                if e == PageCacheLRU.removed { continue }
                let pfn = e >> 4, order = Int(e & 0xF)
                let zone = buddy.zone(of: pfn)
                if zone.type == .dma && !allowDMA { continue }
                lru.entries[i] = PageCacheLRU.removed
                lru.live -= 1
                zone.pagecache -= 1 << order
                let size = UInt64(1) << UInt64(order)
                let take = min(UInt64(count - out.count), size)
                for p in pfn..<(pfn + take) {
                    buddy.markAllocated(p, 0, owner: Owner.vmalloc, flags: 0, aux: 0)
                    out.append(p)
                }
                // The rest of the block stays cached, as maximal aligned blocks.
                var start = pfn + take
                let stop = pfn + size
                while start < stop {
                    var o = min(order, start.trailingZeroBitCount)
                    while start + (UInt64(1) << UInt64(o)) > stop { o -= 1 }
                    let slot = lru.append(start, o)
                    buddy.markAllocated(start, o, owner: Owner.pagecache, flags: PG.lru | PG.uptodate | PG.mappedtodisk, aux: slot)
                    zone.pagecache += 1 << o
                    start += UInt64(1) << UInt64(o)
                }
            }
        }
        while out.count < count {
            // Task stacks and the rest are GFP_KERNEL on x86_64; vmalloc's
            // __GFP_HIGHMEM on x86_32.
            guard let pfn = allocPagesInternal([.kernel, .highmem], order: 0, owner: Owner.vmalloc) else { break }
            out.append(pfn)
        }
        return out
    }

    /// One area first-fit from VMALLOC_START, as __get_vm_area_node() does,
    /// its pages taken from `frames`.
    private func bootVmallocArea(_ user: BootVmallocUser, frames: inout ArraySlice<UInt64>) -> VmArea? {
        let areaSize = user.bytes + 4096
        guard let start = vm.findHole(areaSize, layout.vmallocEnd) else { return nil }
        let id = vm.nextId
        vm.nextId += 1
        var pages: [UInt64] = []
        if user.pages {
            for i in 0..<Int(user.bytes >> 12) {
                guard let pfn = frames.popFirst() else { break }
                buddy.markAllocated(pfn, 0, owner: Owner.vmalloc, flags: 0, aux: UInt32(bitPattern: id))
                guard (try? mapPage(start &+ UInt64(i) << 12, pfn: pfn)) == true else {
                    // Not mapped: the frame goes back, the area stays short
                    // (pageBacked false below).
                    buddy.free(pfn, 0)
                    break
                }
                pages.append(pfn)
            }
        }
        let a = VmArea(id: id, start: start, size: areaSize, requested: Int(user.bytes), pages: pages,
                       caller: user.caller, info: newAllocInfo())
        a.kernelOwned = true
        a.flagName = user.flag
        a.physAddr = user.phys
        a.pageBacked = user.pages && pages.count == Int(user.bytes >> 12)
        vm.insert(a)
        return a
    }
}
