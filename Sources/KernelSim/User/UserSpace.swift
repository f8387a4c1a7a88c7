/// The user program's address space (its `mm_struct`): VMAs and the page
/// frames faulted in behind them.
///
/// `user.malloc` is an anonymous mmap: it reserves a range of virtual
/// addresses (a VMA) and nothing else. The first touch of each page (a
/// `user.poke`, a `copy_to_user` from a syscall) is a page fault that
/// allocates a zeroed frame with GFP_HIGHUSER_MOVABLE (HighMem first on
/// x86_32) and counts in `stats().page_faults` (mm/memory.c
/// do_anonymous_page). A simplification: insmod (the script) shares a.out's
/// address space; each process user.spawn starts has its own
/// (UserProcesses.swift).
public final class UserAddressSpace {
    public enum Kind: Sendable { case text, data, anonymous, stack }

    /// One `vm_area_struct`.
    public struct Area: Sendable, Equatable {
        public var start: UInt64
        public var end: UInt64
        public var perms: ProcMaps.Perms
        public var kind: Kind
        /// What user.malloc was asked for (the VMA is rounded to pages).
        public var requested: Int
        var offset: UInt64 = 0
        var name: String?
    }

    /// TASK_SIZE_MAX: the first address user space cannot have.
    public let taskSize: UInt64
    /// mmap_base: anonymous mappings are placed top-down below it.
    let mmapBase: UInt64
    /// The lowest address an mmap may take (below: the program and its heap).
    let mmapFloor: UInt64
    /// Sorted by start.
    public private(set) var areas: [Area] = []
    /// Present pages: virtual page number → pfn.
    var pages: [UInt64: UInt64] = [:]

    init(pointerBits: Int, program: String) {
        let path = "/home/user/" + program
        if pointerBits == 64 {
            taskSize = (1 << 47) - 4096
            mmapBase = 0x7fff_f7ff_0000
            mmapFloor = 0x5555_5600_0000
            areas = [
                Area(start: 0x5555_5555_4000, end: 0x5555_5555_5000, perms: [.read, .exec], kind: .text, requested: 4096, offset: 0, name: path),
                Area(start: 0x5555_5555_5000, end: 0x5555_5555_6000, perms: [.read, .write], kind: .data, requested: 4096, offset: 0x1000, name: path),
                Area(start: 0x7fff_fffd_e000, end: 0x7fff_ffff_f000, perms: [.read, .write], kind: .stack, requested: 0x21000, name: "[stack]"),
            ]
        } else {
            taskSize = 0xC000_0000
            mmapBase = 0xb7f0_0000
            mmapFloor = 0x1000_0000
            areas = [
                Area(start: 0x0804_8000, end: 0x0804_9000, perms: [.read, .exec], kind: .text, requested: 4096, offset: 0, name: path),
                Area(start: 0x0804_9000, end: 0x0804_a000, perms: [.read, .write], kind: .data, requested: 4096, offset: 0x1000, name: path),
                Area(start: 0xbffd_f000, end: 0xc000_0000, perms: [.read, .write], kind: .stack, requested: 0x21000, name: "[stack]"),
            ]
        }
    }

    /// The area containing `va`.
    public func area(containing va: UInt64) -> Area? {
        areas.first { va >= $0.start && va < $0.end }
    }

    /// Set by the OOM killer's kill (exit_mmap has run).
    var dead = false

    /// Pages present (faulted in) now.
    public var residentPages: Int { pages.count }
    /// The frames behind them, in virtual address order.
    public var residentFrames: [UInt64] { pages.keys.sorted().compactMap { pages[$0] } }

    /// Whether the page of `va` has a frame.
    public func isPresent(_ va: UInt64) -> Bool { pages[va >> 12] != nil }

    /// A top-down free range of `size` bytes (get_unmapped_area), or nil.
    func findGap(_ size: UInt64) -> UInt64? {
        var end = mmapBase
        for a in areas.reversed() where a.start < end {
            if a.end <= end, end - a.end >= size { break }
            end = min(end, a.start)
        }
        guard end >= size, end - size >= mmapFloor else { return nil }
        return end - size
    }

    func insert(_ a: Area) {
        let i = areas.firstIndex { $0.start > a.start } ?? areas.count
        areas.insert(a, at: i)
    }

    /// exit_mmap(): every area goes (the caller frees the frames).
    func removeAllAreas() { areas.removeAll() }

    func remove(start: UInt64) -> Area? {
        guard let i = areas.firstIndex(where: { $0.start == start }) else { return nil }
        return areas.remove(at: i)
    }

    /// /proc/self/maps: adjacent anonymous areas with the same permissions
    /// show as one line, as the kernel merges such VMAs (vma_merge).
    func mapsText(pointerBits: Int) -> String {
        var merged: [Area] = []
        for a in areas {
            if var last = merged.last, last.kind == .anonymous, a.kind == .anonymous, last.end == a.start,
               last.perms == a.perms {
                last.end = a.end
                merged[merged.count - 1] = last
            } else {
                merged.append(a)
            }
        }
        return merged.map { a in
            let file = a.kind == .text || a.kind == .data
            return ProcMaps.line(start: a.start, end: a.end, perms: a.perms, offset: a.offset,
                                 major: file ? 8 : 0, minor: file ? 1 : 0, inode: file ? 131_090 : 0,
                                 name: a.name, pointerBits: pointerBits) + "\n"
        }.joined()
    }
}

/// Why a user access failed.
public enum UserFault: Error, Equatable, Sendable {
    /// No VMA there (or a kernel address): SEGV_MAPERR.
    case noMapping
    /// The VMA does not allow it (a write to the text): SEGV_ACCERR.
    case protection
    /// Faulting in would need a page and none can be had (VM_FAULT_OOM).
    case outOfMemory
    /// Faults cannot be handled here (atomic context, or a kernel thread with no mm).
    case faultsDisabled
    /// The OOM killer killed the process while its fault waited for a page.
    case killed
}

extension Machine {
    /// The user program's address space, made on first use.
    public var userSpace: UserAddressSpace {
        if let u = contexts.userMM { return u }
        let u = UserAddressSpace(pointerBits: contexts.pointerBits, program: contexts.userTask.comm)
        contexts.userMM = u
        userProcessTable.processes.insert(UserProcess(task: contexts.userTask, mm: u), at: 0)
        return u
    }

    /// `user.malloc(n)`: an anonymous private mapping of n bytes rounded up
    /// to pages, not backed by any frame yet. nil when no room is left.
    public func userMalloc(_ n: Int) -> UInt64? { userMalloc(n, mm: userSpace) }

    /// `malloc` of a user process (a.out or a spawned one).
    public func userMalloc(_ n: Int, in process: UserProcess) throws -> UInt64? {
        userMalloc(n, mm: try liveProcess(process).mm)
    }

    func userMalloc(_ n: Int, mm: UserAddressSpace) -> UInt64? {
        guard n >= 0, n <= 1 << 30 else { return nil }
        let size = (UInt64(max(n, 1)) + 4095) & ~4095
        guard let start = mm.findGap(size) else { return nil }
        mm.insert(UserAddressSpace.Area(start: start, end: start + size, perms: [.read, .write],
                                        kind: .anonymous, requested: n))
        return start
    }

    /// `user.free(p)`: munmap of a user.malloc area; its frames go back to
    /// the page allocator. Anything else is glibc's "free(): invalid pointer".
    public func userFree(_ p: UInt64) throws { try userFree(p, mm: userSpace) }

    /// `free` of a user process.
    public func userFree(_ p: UInt64, in process: UserProcess) throws {
        try userFree(p, mm: try liveProcess(process).mm)
    }

    func userFree(_ p: UInt64, mm: UserAddressSpace) throws {
        guard let a = mm.areas.first(where: { $0.start == p && $0.kind == .anonymous }), let area = mm.remove(start: a.start) else {
            throw ContextError("free(): invalid pointer \(hex(p)) (not an address user.malloc returned, or freed already)")
        }
        var vpn = area.start >> 12
        while vpn < area.end >> 12 {
            if let pfn = mm.pages.removeValue(forKey: vpn) { try freeUserPage(pfn) }
            vpn += 1
        }
    }

    /// The frame behind user address `va` for an access, faulting it in
    /// when allowed. Returns the pfn or why not.
    func userFrame(_ va: UInt64, write: Bool, canFault: Bool, mm: UserAddressSpace) -> Result<UInt64, UserFault> {
        guard va < mm.taskSize, let a = mm.area(containing: va) else { return .failure(.noMapping) }
        if write && !a.perms.contains(.write) || !write && !a.perms.contains(.read) { return .failure(.protection) }
        if let pfn = mm.pages[va >> 12] {
            charge(Cost.accessCall)
            return .success(pfn)
        }
        guard canFault else { return .failure(.faultsDisabled) }
        guard let pfn = allocUserPage(zeroed: true) else { return .failure(mm.dead ? .killed : .outOfMemory) }
        if mm.dead {
            // The fault's allocation killed this very process: SIGKILL is
            // pending, the page it got is not mapped into a dead mm.
            try? freeUserPage(pfn)
            return .failure(.killed)
        }
        countUserPageFault()
        mm.pages[va >> 12] = pfn
        return .success(pfn)
    }

    /// Moves `n` bytes between user memory at `va` and `buffer`, page by
    /// page; stops at the first page that fails. Returns bytes done and the
    /// fault, if any.
    func userTransfer(_ va: UInt64, _ n: Int, write: Bool, canFault: Bool, mm: UserAddressSpace,
                      _ body: (_ pfn: UInt64, _ offset: Int, _ done: Int, _ len: Int) throws -> Void) throws -> (Int, UserFault?) {
        var done = 0
        while done < n {
            let a = va &+ UInt64(done)
            if a < va { return (done, .noMapping) }
            let len = min(4096 - Int(a & 4095), n - done)
            switch userFrame(a, write: write, canFault: canFault, mm: mm) {
            case .failure(let f): return (done, f)
            case .success(let pfn): try body(pfn, Int(a & 4095), done, len)
            }
            done += len
        }
        return (done, nil)
    }

    /// The user program's own load (`user.peek`): faults pages in; an
    /// address it cannot read kills it with SIGSEGV (a `ContextError`).
    public func userRead(_ va: UInt64, count: Int) throws -> [UInt8] {
        try userRead(va, count: count, in: mainUserProcess)
    }

    /// `peek` of a user process: its page faults run as its task.
    public func userRead(_ va: UInt64, count: Int, in process: UserProcess) throws -> [UInt8] {
        let p = try liveProcess(process)
        guard count >= 0, count <= 1 << 24 else {
            throw ContextError("count must be between 0 and 16 MiB, got \(count)")
        }
        var out = [UInt8](repeating: 0, count: count)
        let (_, fault) = try runAsUser(p) {
            try userTransfer(va, count, write: false, canFault: true, mm: p.mm) { pfn, off, done, len in
                let bytes = try readFrame(pfn, offset: off, count: len)
                out.replaceSubrange(done..<(done + len), with: bytes)
            }
        }
        if let fault { throw segfault(va, count: count, write: false, fault, process: p) }
        return out
    }

    /// The user program's own store (`user.poke`).
    public func userWrite(_ va: UInt64, bytes: [UInt8]) throws {
        try userWrite(va, bytes: bytes, in: mainUserProcess)
    }

    /// `poke` of a user process.
    public func userWrite(_ va: UInt64, bytes: [UInt8], in process: UserProcess) throws {
        let p = try liveProcess(process)
        let (_, fault) = try runAsUser(p) {
            try userTransfer(va, bytes.count, write: true, canFault: true, mm: p.mm) { pfn, off, done, len in
                try writeFrame(pfn, offset: off, bytes: Array(bytes[done..<(done + len)]))
            }
        }
        if let fault { throw segfault(va, count: bytes.count, write: true, fault, process: p) }
    }

    /// The user program dies of SIGSEGV: the kernel's `show_signal_msg` line
    /// (arch/x86/mm/fault.c), then the error for the script.
    func segfault(_ va: UInt64, count: Int, write: Bool, _ fault: UserFault, process: UserProcess) -> Error {
        let t = process.task
        if let panic = oomPanic { return panic }
        if fault == .killed || process.oomKilled { return process.killedError }
        if fault == .outOfMemory {
            printk("Out of memory: Killed process \(t.pid) (\(t.comm))")
            return ContextError("out of memory: the kernel found no page for \(t.comm)'s fault at \(hex(va)) and killed it")
        }
        // error_code: X86_PF_USER (4) | X86_PF_WRITE (2) | X86_PF_PROT (1)
        let code = 4 | (write ? 2 : 0) | (fault == .protection ? 1 : 0)
        let mm = process.mm
        let text = mm.areas.first { $0.kind == .text }
        let ip = (text?.start ?? 0) &+ 0x41d
        let sp = (mm.areas.first { $0.kind == .stack }?.end ?? 0xd4) &- 0xd4
        var line = "\(t.comm)[\(t.pid)]: segfault at \(String(va, radix: 16)) ip \(contexts.px(ip)) sp \(contexts.px(sp)) error \(code)"
        if let text { line += " in \(t.comm)[\(String(text.start, radix: 16))+\(String(text.end - text.start, radix: 16))]" }
        printk(line)
        let why = fault == .protection ? "the mapping there does not allow \(write ? "writing" : "reading")"
            : (va >= mm.taskSize ? "that is a kernel address, which user mode cannot touch" : "nothing is mapped there")
        return ContextError("segmentation fault: \(t.comm) touched \(hex(va)) (\(count) bytes, \(write ? "write" : "read")): \(why)")
    }

    /// /proc/self/maps of the user program.
    public func procSelfMaps() -> String {
        userSpace.mapsText(pointerBits: contexts.pointerBits)
    }
}
