import KernelSim
import LuaBridge

/// `user.pagemap(addr)`: the frame behind a user page, as /proc/self/pagemap
/// gives it.
enum PagemapAPI {
    static func install(into env: KernelEnvironment) {
        ContextAPI.defineField(env, table: "user", "pagemap", doc: APIDoc(topic: "Syscalls and user space",
            signature: "user.pagemap(addr) -> {pfn=, present=} | nil",
            summary: "What /proc/self/pagemap says of the user page holding addr: the page frame number behind it and whether it is present. nil for a page never touched: user.malloc only reserves addresses, and each page gets a frame at its first touch, wherever the page allocator finds one — so consecutive user pages usually sit on scattered frames.",
            context: "anywhere (it reads the user program's page table)",
            failure: "nil for an untouched page or an address outside the user program's mappings",
            kernel: "fs/proc/task_mmu.c pagemap_read() (PM_PRESENT, PM_PFRAME_MASK)")) { call in
            let va = try call.address(1, "addr")
            guard let e = env.machine.userPagemap(va) else {
                call.pushNil()
                return 1
            }
            // Built with raw sets through LuaBridge: nothing here can raise.
            call.push(.table([
                LuaTableEntry(key: .string(Array("pfn".utf8)), value: .integer(Int64(bitPattern: e.pfn))),
                LuaTableEntry(key: .string(Array("present".utf8)), value: .boolean(e.present)),
            ]))
            return 1
        }
    }
}
