import KernelSim
import LuaBridge

/// Syscalls: glue to KernelSim/Contexts/Syscalls.swift. A Lua syscall is
/// called as `fn(a1, ..., a6)` with the register arguments (integers) and
/// returns an integer (nothing means 0); negative values are -errno.
enum SyscallAPI {
    static let topic = "Syscalls and user space"

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        env.define("SYSCALL_DEFINE", doc: APIDoc(topic: topic, signature: "SYSCALL_DEFINE(name, fn) -> number",
            summary: "Adds a syscall called name (or replaces its handler) and returns its number. user.syscall(name, ...) traps into it: fn runs in process context of the user program (current.comm is \"a.out\", GFP_KERNEL is fine) with the integer arguments, and returns an integer: 0 or more for success, -EFAULT, -ENOMEM, -EINVAL... for errors. Returning nothing returns 0.",
            kernel: "include/linux/syscalls.h SYSCALL_DEFINEn")) { call in
            let name = try call.string(1, "name")
            guard !name.isEmpty, name.count <= 64,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw call.argumentError(1, "name", "a syscall name (letters, digits and _)")
            }
            try call.checkFunction(2, "fn")
            let fn = glue.keepSyscall(call, 2, name: name)
            _ = glue.functionName(call, 2) // names the handler in Call Traces
            let what = "syscall \(name)"
            let gen = glue.generation
            let number = env.machine.syscallDefine(name) { [unowned glue] args in
                let r = try glue.invoke(fn, madeIn: gen, what: what, arguments: args.map { .integer($0) }, results: 1)
                switch r.first {
                case nil, .nil?: return 0
                case .integer(let v)?: return v
                case .number(let d)? where d.rounded() == d && abs(d) < 9e18: return Int64(d)
                case let other?:
                    throw ContextError("\(what) returned \(IrqAPI.describe(other)): a syscall returns an integer (0 or more, or -errno)")
                }
            }
            call.push(number)
            return 1
        }
    }

    /// user.syscall's doc (UserAPI defines it with the other methods of a process).
    static let userSyscallDoc = APIDoc(topic: topic,
        signature: "user.syscall(name, ...) -> integer",
        summary: "The user program (a.out, pid 413) traps into the kernel: the syscall's handler runs in its process context with up to six integer arguments (addresses of user buffers from user.malloc, sizes...), and its return value comes back. An unknown name returns -ENOSYS. Only user mode can trap: from a handler, a work item, another syscall, or with a spinlock held or interrupts off, it is an error. A task from user.spawn traps the same way with t.syscall(name, ...), as itself (current.pid and current.comm are its own, copy_to_user reaches its address space).",
        context: "the script's own task context only", failure: "-ENOSYS for an unknown syscall; an Oops in the handler kills the user program and ends the call with the report; an error if the OOM killer killed the task (before or during the call)",
        kernel: "arch/x86/entry/common.c do_syscall_64()/do_fast_syscall_32()")
}
