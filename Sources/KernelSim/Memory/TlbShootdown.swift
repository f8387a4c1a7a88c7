/// TLB shootdowns and the lazy purge of freed vmap areas, on a machine with
/// more than one CPU (mm/vmalloc.c, arch/x86/mm/tlb.c).
///
/// Every CPU caches kernel translations in its own TLB. Once vfree() has
/// cleared an area's page-table entries, any CPU may still hold a stale
/// translation for it, so the range must not be handed out again until
/// every CPU has flushed it — and flushing another CPU's TLB takes an
/// inter-processor interrupt. Doing that at every vfree() would cost an IPI
/// per other CPU per vfree, so the kernel batches: vfree() only unmaps and
/// puts the area on a purge list (`free_vmap_area_noflush`), and once more
/// than `lazy_max_pages()` pages wait there — or the vmalloc address space
/// runs out, or someone calls `vm_unmap_aliases()` — one flush over the
/// whole span of the list goes to every CPU, and the ranges become free.
///
/// With one CPU kmlab keeps the machine every earlier lesson measures:
/// vfree() flushes its own range at once and the range is free again at
/// once. (A real kernel batches there too, but all it saves there are local
/// flushes: there is nobody to interrupt.)
///
/// On x86 a kernel range flush is `on_each_cpu(do_kernel_range_flush)`, or
/// `on_each_cpu(do_flush_tlb_all)` above `tlb_single_page_flush_ceiling`
/// (33) pages: a function-call IPI to every other CPU. It counts in their
/// `CAL:` column of /proc/interrupts; the `TLB:` row (irq_tlb_count) counts
/// only flush_tlb_func(), the shootdowns of user address spaces.
extension Machine {
    /// `tlb_single_page_flush_ceiling` (arch/x86/mm/tlb.c): above this many
    /// pages, flush everything rather than page by page.
    static let tlbSinglePageFlushCeiling: UInt64 = 33

    /// Whether vfree() defers its flush to the lazy purge: more than one CPU,
    /// on a kernel that has it. 2.6.18's vfree (__vunmap → unmap_vm_area)
    /// flushed every CPU at once; the lazy purge came in 2.6.28.
    var purgesVmapLazily: Bool { tlbs.count > 1 && config.era == .v6 }

    /// `lazy_max_pages()` (mm/vmalloc.c): fls(num_online_cpus()) * 32 MiB,
    /// in pages — 8192 with one CPU, 16384 with two or three, 32768 with 8.
    public var lazyMaxPages: UInt64 {
        let cpus = UInt64(max(1, contexts.onlineCPUs))
        let fls = UInt64(64 - cpus.leadingZeroBitCount)
        return fls * ((32 << 20) >> 12)
    }

    /// Pages (guard pages included) of freed vmap areas waiting for the
    /// purge (`vmap_lazy_nr`).
    public var lazilyFreedPages: UInt64 { vmapLazyPages }

    /// `flush_tlb_kernel_range(start, end)`: every online CPU drops its
    /// translations for the range — the CPU running now directly, each of
    /// the others through a function-call IPI.
    func flushTLBKernelRange(_ start: UInt64, _ end: UInt64) {
        let pages = max(1, (end &- start &+ 4095) >> 12)
        // 2.6.18's i386 flush_tlb_kernel_range() was flush_tlb_all().
        let everything = pages > Machine.tlbSinglePageFlushCeiling || config.era == .v2_6
        let me = contexts.cpu
        for cpu in 0..<tlbs.count {
            if everything {
                // do_flush_tlb_all(): __flush_tlb_all() drops global entries too.
                tlbs[cpu].flushAll()
                charge(Cost.tlbFlushAll)
            } else {
                tlbs[cpu].flush(start, end)
                charge(Cost.tlbFlushPage * pages)
            }
            if cpu != me {
                sendIPI(to: cpu)
                stats.tlbShootdowns &+= 1
            }
        }
        stats.tlbFlushes += 1
    }

    /// The end of vfree() on an SMP machine (free_unmap_vmap_area() with
    /// free_vmap_area_noflush(), then vfree()'s freeing of the pages): the
    /// PTEs are cleared but no TLB is flushed; the pages go back to the
    /// buddy allocator; the range waits on the purge list. Crossing
    /// lazy_max_pages() schedules `drain_vmap_work`.
    func freeVmapAreaLazily(_ a: VmArea) throws {
        for i in 0..<a.pages.count { try unmapPage(a.start &+ UInt64(i) << 12) }
        for pfn in a.pages { freePagesInternal(pfn, order: 0) }
        a.pages = []
        vm.markLazilyFreed(a)
        vmapLazyPages &+= a.size >> 12
        charge(Cost.vfreeTeardown)
        if vmapLazyPages > lazyMaxPages { scheduleDrainVmapWork() }
    }

    /// schedule_work(&drain_vmap_work). The woken kworker preempts a
    /// preemptible task at once (CONFIG_PREEMPT); anywhere else it waits for
    /// the next time the task sleeps or the workqueue runs, like any work.
    func scheduleDrainVmapWork() {
        let work = drainVmapWork
        guard scheduleWork(work) else { return }
        let cs = contexts
        let inWork = cs.frames.contains { if case .work = $0.kind { return true } else { return false } }
        guard cs.canSleep, !inWork, !isRetired, let i = cs.workQueue.lastIndex(where: { $0 === work }) else { return }
        cs.workQueue.remove(at: i)
        work.isPending = false
        work.runCount += 1
        try? processOneWork(work)
    }

    /// `drain_vmap_work`: drain_vmap_area_work() purges in a kworker.
    var drainVmapWork: WorkItem {
        if let w = drainVmapWorkItem { return w }
        let w = WorkItem(name: "drain_vmap_area_work") { [weak self] in
            _ = self?.purgeVmapAreaLazy()
        }
        drainVmapWorkItem = w
        return w
    }

    /// `__purge_vmap_area_lazy(ULONG_MAX, 0)`: one flush over the span of
    /// every lazily freed area, on every CPU, then their ranges are free.
    /// Returns whether there was anything to purge.
    @discardableResult
    func purgeVmapAreaLazy() -> Bool {
        let list = vm.takeLazy()
        guard let first = list.first else { return false }
        var start = first.start, end = first.end
        for a in list {
            start = min(start, a.start)
            end = max(end, a.end)
        }
        flushTLBKernelRange(start, end)
        for a in list { vm.remove(a) }
        vmapLazyPages = 0
        return true
    }

    /// `vm_unmap_aliases()` (mm/vmalloc.c): purges the lazily freed areas
    /// now (under vmap_purge_lock, a mutex: it may sleep). With nothing to
    /// purge there is nothing to flush.
    public func vmUnmapAliases() {
        mightSleep(file: "kernel/locking/mutex.c", line: 585, function: "_vm_unmap_aliases")
        purgeVmapAreaLazy()
    }

    /// Whether some CPU's TLB still translates an address in [start, end)
    /// (for tests and views: a purged range must be gone from every TLB).
    public func anyTLBTranslates(from start: UInt64, to end: UInt64) -> Bool {
        tlbs.contains { $0.holdsTranslation(from: start, to: end) }
    }
}

extension TLB {
    /// Does any entry map a page overlapping [start, end)?
    func holdsTranslation(from start: UInt64, to end: UInt64) -> Bool {
        for i in 0..<smallTag.count where smallTag[i] != 0 {
            let va = (smallTag[i] - 1) << 12
            if va < end && va &+ 4096 > start { return true }
        }
        for i in 0..<largeTag.count where largeTag[i] != 0 {
            let va = (largeTag[i] - 1) << largeShift[i]
            if va < end && va &+ (1 << largeShift[i]) > start { return true }
        }
        return false
    }
}
