/// Support for user processes (the contexts/syscalls side): their pages come
/// from the page allocator like any other, and their bytes live in the same
/// frames.
extension Machine {
    /// Allocates one page for a user process: GFP_HIGHUSER_MOVABLE (HighMem
    /// first on x86_32), owner "user", mapcount 1, zeroed as
    /// clear_user_highpage() does on a fault when `zeroed`. Returns the pfn,
    /// or nil when no page can be found (the caller decides: -ENOMEM, OOM).
    /// Does not call might_sleep(): the fault path that calls this decides.
    public func allocUserPage(zeroed: Bool = true) -> UInt64? {
        var gfp = GFP.highuserMovable
        if zeroed { gfp.insert(.zero) }
        guard let pfn = allocPagesInternal(gfp, order: 0, owner: Owner.user, flags: PG.lru | PG.swapbacked) else {
            return nil
        }
        phys.mframe(pfn).pointee.b = 1
        userPageCount += 1
        return pfn
    }

    /// Frees a page from `allocUserPage`. Anything else is a bad page report.
    public func freeUserPage(_ pfn: UInt64) throws {
        guard pfn < layout.totalPages else {
            throw KernelArgumentError("free_user_page", "pfn", "is not a page of this machine (\(hex(pfn)))")
        }
        let f = phys.frame(pfn)
        guard f.kind == Frame.allocHead && f.owner == Owner.user && f.order == 0 else {
            badPage(pfn, reason: "nonzero mapcount", double: f.kind == Frame.freeHead || f.kind == Frame.freeTail)
            return
        }
        userPageCount -= 1
        freePagesInternal(pfn, order: 0)
    }

    /// Counts a user page fault (and its cost) in `stats`.
    public func countUserPageFault() {
        stats.pageFaults &+= 1
        charge(Cost.pageFault)
    }

    /// Reads bytes of one frame by pfn (offset + count within the page).
    public func readFrame(_ pfn: UInt64, offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset + count <= 4096 else {
            throw KernelArgumentError("read_frame", "offset", "and count must stay within the page (\(offset)+\(count))")
        }
        return try readPhysical(pfn << 12 + UInt64(offset), count: count)
    }

    /// Writes bytes into one frame by pfn.
    public func writeFrame(_ pfn: UInt64, offset: Int, bytes: [UInt8]) throws {
        guard offset >= 0, offset + bytes.count <= 4096 else {
            throw KernelArgumentError("write_frame", "offset", "and size must stay within the page (\(offset)+\(bytes.count))")
        }
        try writePhysical(pfn << 12 + UInt64(offset), bytes: bytes)
    }
}
