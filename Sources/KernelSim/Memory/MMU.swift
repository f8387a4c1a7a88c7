/// A TLB with separate, fully associative LRU arrays for 4 KiB pages and for
/// large pages (4 MiB on x86_32, 2 MiB and 1 GiB on x86_64).
final class TLB {
    /// Entry tags are (va >> shift) + 1; 0 marks an empty entry.
    var smallTag: [UInt64]
    var smallPfn: [UInt64]
    var smallStamp: [UInt64]
    var largeTag: [UInt64]
    var largeShift: [UInt64]
    var largePfn: [UInt64]
    var largeStamp: [UInt64]
    var tick: UInt64 = 0

    init(small: Int, large: Int) {
        smallTag = [UInt64](repeating: 0, count: small)
        smallPfn = [UInt64](repeating: 0, count: small)
        smallStamp = [UInt64](repeating: 0, count: small)
        largeTag = [UInt64](repeating: 0, count: large)
        largeShift = [UInt64](repeating: 12, count: large)
        largePfn = [UInt64](repeating: 0, count: large)
        largeStamp = [UInt64](repeating: 0, count: large)
    }

    /// The physical address for `va`, or nil on a miss.
    @inline(__always) func lookup(_ va: UInt64) -> UInt64? {
        tick &+= 1
        let tag = (va >> 12) &+ 1
        for i in 0..<smallTag.count where smallTag[i] == tag {
            smallStamp[i] = tick
            return (smallPfn[i] << 12) | (va & 0xFFF)
        }
        for i in 0..<largeTag.count where largeTag[i] != 0 {
            let s = largeShift[i]
            if (va >> s) &+ 1 == largeTag[i] {
                largeStamp[i] = tick
                return (largePfn[i] << 12) + (va & ((1 << s) - 1))
            }
        }
        return nil
    }

    func insert(_ va: UInt64, shift: UInt64, pfn: UInt64) {
        tick &+= 1
        if shift == 12 {
            var victim = 0
            for i in 0..<smallTag.count {
                if smallTag[i] == 0 { victim = i; break }
                if smallStamp[i] < smallStamp[victim] { victim = i }
            }
            smallTag[victim] = (va >> 12) &+ 1
            smallPfn[victim] = pfn
            smallStamp[victim] = tick
        } else {
            var victim = 0
            for i in 0..<largeTag.count {
                if largeTag[i] == 0 { victim = i; break }
                if largeStamp[i] < largeStamp[victim] { victim = i }
            }
            largeTag[victim] = (va >> shift) &+ 1
            largeShift[victim] = shift
            largePfn[victim] = pfn
            largeStamp[victim] = tick
        }
    }

    /// flush_tlb_kernel_range(): drops entries overlapping [start, end).
    func flush(_ start: UInt64, _ end: UInt64) {
        for i in 0..<smallTag.count where smallTag[i] != 0 {
            let va = (smallTag[i] - 1) << 12
            if va < end && va &+ 4096 > start { smallTag[i] = 0 }
        }
        for i in 0..<largeTag.count where largeTag[i] != 0 {
            let va = (largeTag[i] - 1) << largeShift[i]
            if va < end && va &+ (1 << largeShift[i]) > start { largeTag[i] = 0 }
        }
    }

    func flushAll() {
        for i in 0..<smallTag.count { smallTag[i] = 0 }
        for i in 0..<largeTag.count { largeTag[i] = 0 }
    }
}

/// Page-table entry bits (arch/x86/include/asm/pgtable_types.h).
enum PTE {
    static let present: UInt64 = 0x001
    static let rw: UInt64 = 0x002
    static let accessed: UInt64 = 0x020
    static let dirty: UInt64 = 0x040
    static let pse: UInt64 = 0x080
    static let global: UInt64 = 0x100
    static let nx: UInt64 = 1 << 63
    /// _KERNPG_TABLE: a kernel page-table page.
    static let kernTable: UInt64 = 0x063
    /// __PAGE_KERNEL (+ NX on x86_64).
    static let kernel: UInt64 = 0x163
    static let kernelLarge: UInt64 = 0x1E3
    static let addrMask64: UInt64 = 0x000F_FFFF_FFFF_F000
}

/// The result of walking the kernel page tables for one address.
struct Walk {
    /// Physical address, or nil if not mapped.
    var paddr: UInt64?
    /// log2 of the mapping's page size.
    var shift: UInt64
    /// Entries read (levels walked).
    var levels: Int
    /// The raw entries seen, for the Oops' page-table dump.
    var entries: [UInt64]
    /// The last entry points at a page table outside RAM: simulated memory
    /// was scribbled over (a page-table page memset by a script). The walk
    /// stops there, and an access through it is the "Bad pagetable" Oops.
    var corrupt = false
}

extension Machine {
    // MARK: page-table entries in physical memory

    var entrySize: Int { layout.arch == .x86_64 ? 8 : 4 }

    func readEntry(_ tablePfn: UInt64, _ index: Int) -> UInt64 {
        entrySize == 8 ? phys.readWord64(tablePfn, index * 8) : UInt64(phys.readWord32(tablePfn, index * 4))
    }

    func writeEntry(_ tablePfn: UInt64, _ index: Int, _ value: UInt64) throws {
        try phys.writeWord(tablePfn, index * entrySize, value, size: entrySize)
    }

    func entryPfn(_ e: UInt64) -> UInt64 {
        layout.arch == .x86_64 ? (e & PTE.addrMask64) >> 12 : (e & 0xFFFF_F000) >> 12
    }

    /// x86_64 addresses must be sign-extended from bit 47.
    @inline(__always) func isCanonical(_ va: UInt64) -> Bool {
        layout.arch == .x86_32 || (va >> 47 == 0 || va >> 47 == 0x1FFFF)
    }

    /// Walks the kernel page tables (swapper_pg_dir / init_top_pgt).
    ///
    /// Every entry is untrusted (a script can write over page-table pages).
    /// kmlab maps nothing but RAM, so an entry that leads outside RAM (a
    /// table, or the page itself) ends the walk as `corrupt`: on x86_64 the
    /// address bits of such garbage (all-ones, say) are reserved bits above
    /// MAXPHYADDR, the CPU's walk stops with a reserved-bit fault
    /// (X86_PF_RSVD) and arch/x86/mm/fault.c `pgtable_bad` reports "Bad
    /// pagetable". x86_32 entries have no such bits; kmlab reports the same.
    func walk(_ va: UInt64) -> Walk {
        if layout.arch == .x86_32 {
            let pde = readEntry(pgdPfn, Int((va >> 22) & 1023))
            if pde & PTE.present == 0 { return Walk(paddr: nil, shift: 22, levels: 1, entries: [pde]) }
            if pde & PTE.pse != 0 {
                return leaf((pde & 0xFFC0_0000) | (va & 0x3F_FFFF), shift: 22, levels: 1, entries: [pde])
            }
            guard entryPfn(pde) < phys.totalPages else {
                return Walk(paddr: nil, shift: 22, levels: 1, entries: [pde], corrupt: true)
            }
            let pte = readEntry(entryPfn(pde), Int((va >> 12) & 1023))
            if pte & PTE.present == 0 { return Walk(paddr: nil, shift: 12, levels: 2, entries: [pde, pte]) }
            return leaf((pte & 0xFFFF_F000) | (va & 0xFFF), shift: 12, levels: 2, entries: [pde, pte])
        }
        var table = pgdPfn
        var entries: [UInt64] = []
        let shifts: [UInt64] = [39, 30, 21, 12]
        for (level, s) in shifts.enumerated() {
            let e = readEntry(table, Int((va >> s) & 511))
            entries.append(e)
            if e & PTE.present == 0 { return Walk(paddr: nil, shift: s, levels: level + 1, entries: entries) }
            if s == 12 || (e & PTE.pse != 0 && (s == 30 || s == 21)) {
                let base = e & PTE.addrMask64 & ~((UInt64(1) << s) - 1)
                return leaf(base | (va & ((UInt64(1) << s) - 1)), shift: s, levels: level + 1, entries: entries)
            }
            table = entryPfn(e)
            guard table < phys.totalPages else {
                return Walk(paddr: nil, shift: s, levels: level + 1, entries: entries, corrupt: true)
            }
        }
        return Walk(paddr: nil, shift: 12, levels: 4, entries: entries)
    }

    /// The end of a walk at a mapping of `paddr`: corrupt when that is not RAM.
    private func leaf(_ paddr: UInt64, shift: UInt64, levels: Int, entries: [UInt64]) -> Walk {
        guard paddr >> 12 < phys.totalPages else {
            return Walk(paddr: nil, shift: shift, levels: levels, entries: entries, corrupt: true)
        }
        return Walk(paddr: paddr, shift: shift, levels: levels, entries: entries)
    }

    /// Translates through the TLB, walking the page tables on a miss.
    /// nil: not mapped (the caller raises the fault).
    @inline(__always) func translateNoFault(_ va: UInt64) -> UInt64? {
        if let pa = tlb.lookup(va) {
            stats.tlbHits &+= 1
            charge(Cost.tlbHit)
            return pa
        }
        stats.tlbMisses &+= 1
        guard isCanonical(va) else { return nil }
        let w = walk(va)
        stats.pageWalks &+= 1
        charge(Cost.walkLevel * UInt64(w.levels))
        guard let pa = w.paddr else { return nil }
        tlb.insert(va, shift: w.shift, pfn: ((pa >> w.shift) << w.shift) >> 12)
        return pa
    }

    // MARK: building mappings

    /// A zeroed page for a page table: from the boot reserve during boot,
    /// later from the page allocator (GFP_PGTABLE_KERNEL, lowmem).
    func allocTablePage() -> UInt64? {
        // Boot tables come from the memblock reserve while it lasts.
        if booting, bootTableNext < bootTableEnd {
            let pfn = bootTableNext
            bootTableNext += 1
            phys.zeroFrame(pfn)
            return pfn
        }
        guard let pfn = allocPagesInternal([.kernel, .zero, .nowarn], order: 0, owner: Owner.pagetable,
                                           flags: PG.table) else { return nil }
        pageTablePages += 1
        return pfn
    }

    /// Points the table entry for `va` at a new table if it is empty and
    /// returns the next-level table's pfn.
    private func tableFor(_ table: UInt64, _ index: Int) throws -> UInt64? {
        let e = readEntry(table, index)
        if e & PTE.present != 0 {
            // A scribbled entry pointing outside RAM is no table to build on.
            if e & PTE.pse != 0 || entryPfn(e) >= phys.totalPages { return nil }
            return entryPfn(e)
        }
        guard let t = allocTablePage() else { return nil }
        try writeEntry(table, index, (t << 12) | PTE.kernTable)
        return t
    }

    /// The last-level table that maps `va` with 4 KiB pages (created as needed).
    func pteTable(for va: UInt64) throws -> UInt64? {
        if layout.arch == .x86_32 {
            return try tableFor(pgdPfn, Int((va >> 22) & 1023))
        }
        var table = pgdPfn
        for s: UInt64 in [39, 30, 21] {
            guard let t = try tableFor(table, Int((va >> s) & 511)) else { return nil }
            table = t
        }
        return table
    }

    /// set_pte_at(): maps one 4 KiB page.
    func mapPage(_ va: UInt64, pfn: UInt64) throws -> Bool {
        guard let t = try pteTable(for: va) else { return false }
        let idx = Int((va >> 12) & (layout.arch == .x86_64 ? 511 : 1023))
        var e = (pfn << 12) | PTE.kernel
        if layout.arch == .x86_64 { e |= PTE.nx }
        try writeEntry(t, idx, e)
        stats.ptesWritten += 1
        charge(Cost.pteWrite)
        return true
    }

    /// pte_clear() of a 4 KiB mapping (the table stays, as in the kernel).
    func unmapPage(_ va: UInt64) throws {
        let w = walk(va)
        guard w.paddr != nil, w.shift == 12 else { return }
        // The table holding the PTE is the one the walk read last.
        let tablePfn: UInt64
        if layout.arch == .x86_32 {
            tablePfn = entryPfn(w.entries[0])
        } else {
            tablePfn = entryPfn(w.entries[2])
        }
        let idx = Int((va >> 12) & (layout.arch == .x86_64 ? 511 : 1023))
        try writeEntry(tablePfn, idx, 0)
        stats.ptesCleared += 1
        charge(Cost.pteWrite)
    }

    /// flush_tlb_kernel_range(): on one CPU a local flush; with more, every
    /// CPU's, through IPIs (TlbShootdown.swift).
    func flushTLB(_ start: UInt64, _ end: UInt64) {
        if tlbs.count > 1 {
            flushTLBKernelRange(start, end)
            return
        }
        flushTLBLocal(start, end)
    }

    /// A flush of this CPU's TLB only (__flush_tlb_one_kernel for a per-CPU
    /// mapping such as a kmap_local slot).
    func flushTLBLocal(_ start: UInt64, _ end: UInt64) {
        tlb.flush(start, end)
        stats.tlbFlushes += 1
        charge(Cost.tlbFlushPage * max(1, (end &- start) >> 12))
    }

    /// Builds the direct map at boot: x86_32 PDEs with 4 MiB pages; x86_64
    /// PUD entries with 1 GiB pages, then 2 MiB and 4 KiB for a remainder.
    func buildDirectMap() throws {
        let lowBytes = layout.maxLowPfn << 12
        if layout.arch == .x86_32 {
            let pdeBase = Int(layout.pageOffset >> 22)
            let full = lowBytes >> 22
            for i in 0..<full {
                try writeEntry(pgdPfn, pdeBase + Int(i), (i << 22) | PTE.kernelLarge)
            }
            var pa = full << 22
            while pa < lowBytes {
                _ = try mapPage(layout.pageOffset + pa, pfn: pa >> 12)
                pa += 4096
            }
            // Page tables for the pkmap area and the fixmap (kmap_local slots).
            _ = try pteTable(for: layout.pkmapBase)
            _ = try pteTable(for: layout.fixaddrTop)
            return
        }
        var pa: UInt64 = 0
        while pa < lowBytes {
            let va = layout.pageOffset &+ pa
            let remaining = lowBytes - pa
            if remaining >= 1 << 30 {
                guard let pud = try tableFor(pgdPfn, Int((va >> 39) & 511)) else { return }
                try writeEntry(pud, Int((va >> 30) & 511), pa | PTE.kernelLarge | PTE.nx)
                pa += 1 << 30
            } else if remaining >= 2 << 20 {
                guard let pud = try tableFor(pgdPfn, Int((va >> 39) & 511)),
                      let pmd = try tableFor(pud, Int((va >> 30) & 511)) else { return }
                try writeEntry(pmd, Int((va >> 21) & 511), pa | PTE.kernelLarge | PTE.nx)
                pa += 2 << 20
            } else {
                _ = try mapPage(va, pfn: pa >> 12)
                pa += 4096
            }
        }
    }
}
