import KernelSim
import LuaBridge

/// User space: the user program's memory (user.malloc/free/peek/poke) and
/// the kernel's side of it (copy_to_user, copy_from_user, access_ok). Glue
/// to KernelSim/User.
enum UserAPI {
    static let topic = SyscallAPI.topic
    /// Where the user.* functions run: not in the kernel at all.
    static let userMode = "user mode: the script acting as the user program (a.out), not the kernel"

    /// A process's methods, shared by `user` (a.out) and the tasks
    /// user.spawn returns. Each takes the process it acts for and the
    /// index of its first argument (2 when called with a colon, `t:malloc(n)`).
    typealias Method = (LuaCall, UserProcess, Int32) throws -> Int32

    static func methods(_ env: KernelEnvironment) -> [(String, Method)] {
        [
            ("malloc", { call, p, a in
                let n = try call.size(a, "n")
                call.push(address: try env.machine.userMalloc(n, in: p))
                return 1
            }),
            ("free", { call, p, a in
                if let addr = try call.optionalAddress(a, "p") { try env.machine.userFree(addr, in: p) }
                return 0
            }),
            ("peek", { call, p, a in
                let addr = try call.address(a, "addr")
                if call.isNil(a + 1) {
                    let b = try env.machine.userRead(addr, count: 1, in: p)
                    call.push(Int64(b.first ?? 0))
                } else {
                    call.push(bytes: try env.machine.userRead(addr, count: try call.size(a + 1, "n"), in: p))
                }
                return 1
            }),
            ("poke", { call, p, a in
                let addr = try call.address(a, "addr")
                let bytes: [UInt8]
                if call.kind(a + 1) == .string {
                    bytes = try call.bytes(a + 1, "value")
                } else {
                    bytes = [try call.byte(a + 1, "value")]
                }
                try env.machine.userWrite(addr, bytes: bytes, in: p)
                return 0
            }),
            ("syscall", { call, p, a in
                let name = try call.string(a, "name")
                var args: [Int64] = []
                let n = call.argumentCount
                if n > a + 6 { throw call.error("at most 6 arguments after the name (a syscall has six registers), got \(n - a)") }
                if n > a {
                    for i in (a + 1)...n {
                        if call.kind(i) == .boolean { args.append(call.truthy(i) ? 1 : 0); continue }
                        if call.isNil(i) { args.append(0); continue }
                        args.append(try call.integer(i, "argument \(i - a)", expected: "an integer (a number or an address)"))
                    }
                }
                call.push(try env.machine.syscall(name, args, as: p))
                return 1
            }),
        ]
    }

    /// Where the first argument is: `t:malloc(n)` passes the task table first.
    static func firstArgument(_ call: LuaCall) -> Int32 { call.kind(1) == .table ? 2 : 1 }

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        let docs: [String: APIDoc] = [
            "malloc": APIDoc(topic: topic, signature: "user.malloc(n) -> user address | nil",
                summary: "The user program maps n bytes of anonymous memory (rounded up to pages): a new area in /proc/self/maps, and nothing else. No page frame backs it until the program (user.poke, user.peek) or the kernel (copy_to_user) first touches a page: that page fault allocates a zeroed frame with GFP_HIGHUSER_MOVABLE and counts in stats().page_faults. A task from user.spawn has the same method (t.malloc(n)), in its own address space.",
                context: userMode, failure: "nil when the address space has no room; an error once the OOM killer has killed the task", kernel: "mm/mmap.c do_mmap(), mm/memory.c do_anonymous_page()"),
            "free": APIDoc(topic: topic, signature: "user.free(p)",
                summary: "Unmaps an area from user.malloc; the frames that were faulted in go back to the page allocator. user.free(nil) does nothing. Also t.free(p) on a task from user.spawn.",
                context: userMode, failure: "an error (glibc's \"free(): invalid pointer\") for anything user.malloc did not return", kernel: "mm/mmap.c do_munmap()"),
            "peek": APIDoc(topic: topic, signature: "user.peek(addr [, n]) -> byte | string",
                summary: "The user program reads its own memory: one byte, or a string of n bytes. Touching a page not yet backed faults it in (zero-filled). Also t.peek(addr [, n]) on a task from user.spawn, in its address space.",
                context: userMode, failure: "an error (the program dies of SIGSEGV, with the kernel's segfault line in dmesg) for an address outside its areas, or a kernel address"),
            "poke": APIDoc(topic: topic, signature: "user.poke(addr, byte | string)",
                summary: "The user program writes its own memory: one byte (an integer 0..255) or the bytes of a string. The first write to a page faults it in; when no page is left, that fault is where the OOM killer runs. Also t.poke(addr, value) on a task from user.spawn.",
                context: userMode, failure: "an error (SIGSEGV) outside its writable areas"),
        ]
        for (name, body) in methods(env) {
            let method: LuaFunction = { call in
                try body(call, env.machine.mainUserProcess, firstArgument(call))
            }
            if name == "syscall" {
                ContextAPI.defineField(env, table: "user", name, doc: SyscallAPI.userSyscallDoc, method)
            } else if let doc = docs[name] {
                ContextAPI.defineField(env, table: "user", name, doc: doc, method)
            }
        }
        ContextAPI.defineField(env, table: "user", "spawn", doc: APIDoc(topic: topic, signature: "user.spawn(comm) -> task",
            summary: "Starts another user program called comm (fork and exec; cut to 15 bytes as the kernel's TASK_COMM_LEN of 16 cuts it) and returns it as a table: pid (414, 415, ...), comm, and the methods user has, bound to it: t.malloc(n), t.free(p), t.peek(addr [, n]), t.poke(addr, value), t.syscall(name, ...). It has an address space of its own (its own pages, its own page faults, current.comm in its syscalls). When memory runs out the OOM killer chooses among these tasks and a.out: once killed, every method of the task is an error naming the kill.",
            context: userMode, failure: "an error for a comm that is not a string, or after 1000 tasks",
            kernel: "kernel/fork.c kernel_clone(), fs/exec.c __set_task_comm()")) { call in
            let a = firstArgument(call)
            guard call.kind(a) == .string else { throw call.argumentError(a, "comm", "the program's name (a string)") }
            let comm = try call.string(a, "comm")
            let p = try env.machine.userSpawn(comm: comm)
            pushTask(p, env: env, glue: glue, on: call)
            return 1
        }
        env.document("user.pid", APIDoc(topic: topic, signature: "user.pid = \(Machine.userProgramPid)",
            summary: "The pid of the user program the user table acts for (a.out): the first user task, the one user.syscall traps from.",
            context: userMode))
        env.lua.updateGlobalTable("user") { $0.set("pid", Int64(Machine.userProgramPid)) }
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

    /// A spawned task as Lua sees it: a table with pid, comm and the
    /// methods bound to the task (made once, so calling them in a loop
    /// makes nothing new). A task from before boot{} is refused.
    static func pushTask(_ p: UserProcess, env: KernelEnvironment, glue: ContextGlue, on call: LuaCall) {
        let pid = p.pid
        let generation = glue.generation
        let label = "\(p.comm)[\(pid)]"
        call.pushTable(fieldCount: 7) { task in
            task.set("pid") { call.push(pid) }
            task.set("comm", p.comm)
            for (name, body) in methods(env) {
                task.set(name) {
                    env.lua.pushFunction(on: task.L, named: "\(label).\(name)") { [unowned env, unowned glue] call in
                        try env.guardKernel(call) {
                            guard glue.generation == generation, let p = env.machine.userProcess(pid: pid) else {
                                throw call.error("this task belongs to a machine that boot{} has replaced; spawn a new one")
                            }
                            return try body(call, p, firstArgument(call))
                        }
                    }
                }
            }
        }
    }
}
