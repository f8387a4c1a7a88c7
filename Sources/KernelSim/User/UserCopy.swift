/// Copying between kernel and user memory: `access_ok`, `copy_to_user`,
/// `copy_from_user` (include/linux/uaccess.h, lib/usercopy.c).
///
/// They return the number of bytes NOT copied (0 on success). An address
/// range that is not entirely below TASK_SIZE_MAX fails access_ok and
/// nothing is copied: this is what keeps a user program from making the
/// kernel write into kernel memory. Both may fault pages in, so both may
/// sleep: `might_fault()` checks the context first.
extension Machine {
    /// `access_ok(addr, size)`: the whole range lies in user space.
    public func accessOk(_ addr: UInt64, _ size: Int) -> Bool {
        guard size >= 0 else { return false }
        let limit = currentUserSpace.taskSize
        let s = UInt64(size)
        return s <= limit && addr <= limit - s
    }

    /// `might_fault()` (mm/memory.c __might_fault): the might_sleep check
    /// at the uaccess site.
    func mightFault(line: Int) {
        mightSleep(file: "include/linux/uaccess.h", line: line, function: "__might_fault")
    }

    /// Page faults can be handled now: not in atomic context
    /// (faulthandler_disabled()), and the task has an mm (a kernel thread
    /// such as a kworker has none: its user accesses just fail).
    var canFaultUserPages: Bool {
        !contexts.inAtomic && contexts.current.kind == .user
    }

    /// `copy_to_user(to, from, n)`: bytes not copied.
    public func copyToUser(_ to: UInt64, from: UInt64, count n: Int) throws -> Int {
        guard n >= 0 else { throw KernelArgumentError("copy_to_user", "n", "must be a non-negative integer, got \(n)") }
        mightFault(line: 192)
        // check_copy_size(): WARN_ON_ONCE(bytes > INT_MAX), nothing copied.
        guard n > 0, n <= Int(Int32.max), accessOk(to, n) else { return n }
        guard contexts.current.kind == .user else { return n }
        let (done, _) = try userTransfer(to, n, write: true, canFault: canFaultUserPages, mm: currentUserSpace) { pfn, off, done, len in
            let bytes = try read(from &+ UInt64(done), count: len)
            try writeFrame(pfn, offset: off, bytes: bytes)
        }
        try throwIfPanicked()
        return n - done
    }

    /// `copy_from_user(to, from, n)`: bytes not copied; the part of the
    /// kernel buffer that could not be filled is zeroed, as _copy_from_user does.
    public func copyFromUser(_ to: UInt64, from: UInt64, count n: Int) throws -> Int {
        guard n >= 0 else { throw KernelArgumentError("copy_from_user", "n", "must be a non-negative integer, got \(n)") }
        mightFault(line: 162)
        guard n > 0 else { return 0 }
        guard n <= Int(Int32.max) else { return n }
        var done = 0
        if accessOk(from, n) && contexts.current.kind == .user {
            (done, _) = try userTransfer(from, n, write: false, canFault: canFaultUserPages, mm: currentUserSpace) { pfn, off, done, len in
                try write(to &+ UInt64(done), bytes: try readFrame(pfn, offset: off, count: len))
            }
        }
        try throwIfPanicked()
        let res = n - done
        var zeroed = done
        while zeroed < n {
            let len = min(4096, n - zeroed)
            try write(to &+ UInt64(zeroed), bytes: [UInt8](repeating: 0, count: len))
            zeroed += len
        }
        return res
    }
}
