/// /proc/self/pagemap for one page (fs/proc/task_mmu.c pagemap_read,
/// Documentation/admin-guide/mm/pagemap.rst): which frame backs a user page.
public struct PagemapEntry: Equatable, Sendable {
    /// The page frame number (bits 0-54 of the entry; root sees it).
    public var pfn: UInt64
    /// Bit 63: the page is present in RAM.
    public var present: Bool
}

extension Machine {
    /// The pagemap entry of the user page containing `va`: nil for a page
    /// never touched (no frame yet: anonymous memory is faulted in lazily),
    /// or outside every mapping. kmlab has no swap, so a touched page is
    /// always present.
    public func userPagemap(_ va: UInt64) -> PagemapEntry? {
        let mm = userSpace
        guard va < mm.taskSize, mm.area(containing: va) != nil, let pfn = mm.pages[va >> 12] else { return nil }
        return PagemapEntry(pfn: pfn, present: true)
    }
}
