import CLua
import KernelSim
import LuaBridge

/// User space: the user program's memory (user.malloc/free/peek/poke) and
/// the kernel's side of it (copy_to_user, copy_from_user, access_ok). Glue
/// to KernelSim/User.
enum UserAPI {
    static let topic = SyscallAPI.topic
    /// Where the user.* functions run: not in the kernel at all.
    static let userMode = "user mode: the script acting as the user program (a.out), not the kernel"

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        ContextAPI.defineField(env, table: "user", "malloc", doc: APIDoc(topic: topic, signature: "user.malloc(n) -> user address | nil",
            summary: "The user program maps n bytes of anonymous memory (rounded up to pages): a new area in /proc/self/maps, and nothing else. No page frame backs it until the program (user.poke, user.peek) or the kernel (copy_to_user) first touches a page: that page fault allocates a zeroed frame with GFP_HIGHUSER_MOVABLE and counts in stats().page_faults.",
            context: userMode, failure: "nil when the address space has no room", kernel: "mm/mmap.c do_mmap(), mm/memory.c do_anonymous_page()")) { call in
            let n = try call.size(1, "n")
            call.push(address: env.machine.userMalloc(n))
            return 1
        }
        ContextAPI.defineField(env, table: "user", "free", doc: APIDoc(topic: topic, signature: "user.free(p)",
            summary: "Unmaps an area from user.malloc; the frames that were faulted in go back to the page allocator. user.free(nil) does nothing.",
            context: userMode, failure: "an error (glibc's \"free(): invalid pointer\") for anything user.malloc did not return", kernel: "mm/mmap.c do_munmap()")) { call in
            if let p = try call.optionalAddress(1, "p") { try env.machine.userFree(p) }
            return 0
        }
        ContextAPI.defineField(env, table: "user", "peek", doc: APIDoc(topic: topic, signature: "user.peek(addr [, n]) -> byte | string",
            summary: "The user program reads its own memory: one byte, or a string of n bytes. Touching a page not yet backed faults it in (zero-filled).",
            context: userMode, failure: "an error (the program dies of SIGSEGV, with the kernel's segfault line in dmesg) for an address outside its areas, or a kernel address"
        )) { call in
            let addr = try call.address(1, "addr")
            if call.isNil(2) {
                let b = try env.machine.userRead(addr, count: 1)
                call.push(Int64(b.first ?? 0))
            } else {
                call.push(bytes: try env.machine.userRead(addr, count: try call.size(2, "n")))
            }
            return 1
        }
        ContextAPI.defineField(env, table: "user", "poke", doc: APIDoc(topic: topic, signature: "user.poke(addr, byte | string)",
            summary: "The user program writes its own memory: one byte (an integer 0..255) or the bytes of a string. The first write to a page faults it in.",
            context: userMode, failure: "an error (SIGSEGV) outside its writable areas")) { call in
            let addr = try call.address(1, "addr")
            let bytes: [UInt8]
            if call.type(2) == LUA_TSTRING {
                bytes = try call.bytes(2, "value")
            } else {
                bytes = [try call.byte(2, "value")]
            }
            try env.machine.userWrite(addr, bytes: bytes)
            return 0
        }
        env.define("copy_to_user", doc: APIDoc(topic: topic, signature: "copy_to_user(ubuf, kaddr, n) -> bytes not copied",
            summary: "Copies n bytes from kernel memory at kaddr to the user program's buffer ubuf and returns how many bytes could NOT be copied: 0 is success; a driver returns -EFAULT otherwise. A destination that is not entirely user space (a kernel address) fails access_ok and nothing is copied. Pages of the user buffer not yet backed are faulted in, which may sleep: the debug kernel checks the context first (might_fault).",
            context: "process context (a syscall); in atomic context only pages already present can be copied, after the might-sleep report",
            failure: "the number of bytes not copied", kernel: "include/linux/uaccess.h copy_to_user()")) { call in
            let to = try call.address(1, "ubuf"), from = try call.address(2, "kaddr")
            call.push(try env.machine.copyToUser(to, from: from, count: try call.size(3, "n")))
            return 1
        }
        env.define("copy_from_user", doc: APIDoc(topic: topic, signature: "copy_from_user(kaddr, ubuf, n) -> bytes not copied",
            summary: "Copies n bytes from the user program's buffer ubuf into kernel memory at kaddr; returns the bytes NOT copied (0 is success) and zeroes the part of the kernel buffer it could not fill, so no stale kernel data is used. A source outside user space is refused by access_ok.",
            context: "process context (it may fault and sleep)", failure: "the number of bytes not copied",
            kernel: "include/linux/uaccess.h copy_from_user()")) { call in
            let to = try call.address(1, "kaddr"), from = try call.address(2, "ubuf")
            call.push(try env.machine.copyFromUser(to, from: from, count: try call.size(3, "n")))
            return 1
        }
        env.define("access_ok", doc: APIDoc(topic: topic, signature: "access_ok(addr, size) -> boolean",
            summary: "Whether [addr, addr+size) lies entirely in user space (below TASK_SIZE_MAX: 0xc0000000 on x86_32). It does not check that anything is mapped there: copy_*_user find that out.",
            kernel: "arch/x86/include/asm/uaccess.h access_ok()")) { call in
            let addr = try call.address(1, "addr")
            call.push(env.machine.accessOk(addr, try call.size(2, "size")))
            return 1
        }
    }
}
