import Testing
import KernelSim
import LuaBridge

/// user.spawn(comm): more user processes, each with its own address space
/// (kernel/fork.c, fs/exec.c __set_task_comm and TASK_COMM_LEN of
/// include/linux/sched.h), and the same methods as `user`.
@Suite struct UserSpawnTests {
    @Test func aSpawnedTaskHasItsOwnPidAndAddressSpace() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local t = user.spawn("hog")
            local u = user.spawn("other")
            local a = t.malloc(2 * PAGE_SIZE)
            t.poke(a, "mine")
            local b = user.malloc(2 * PAGE_SIZE)
            user.poke(b, "a.out's")
            return user.pid, t.pid, u.pid, t.comm, t.peek(a, 4), user.peek(b, 7), t:peek(a, 4)
            """)
        #expect(v == [.integer(413), .integer(414), .integer(415), .string(Array("hog".utf8)),
                      .string(Array("mine".utf8)), .string(Array("a.out's".utf8)), .string(Array("mine".utf8))])
        let m = h.machine
        #expect(m.userProcesses.map(\.pid) == [413, 414, 415])
        #expect(m.contexts.userTask.pid == Machine.userProgramPid)
        #expect(m.userProcesses.map(\.comm) == ["a.out", "hog", "other"])
        // Each process's page faulted into its own mm; a.out's is userSpace.
        #expect(m.userSpace.residentPages == 1)
        #expect(m.userProcess(pid: 414)?.mm.residentPages == 1)
        #expect(m.userProcess(pid: 415)?.mm.residentPages == 0)
    }

    @Test func addressesOfOneTaskAreNotMappedInAnother() throws {
        let h = try KernelHarness()
        let msg = h.errorMessage("""
            local t = user.spawn("hog")
            local a = t.malloc(PAGE_SIZE)
            -- a.out maps its first area at the same place: take another
            local b = user.malloc(3 * PAGE_SIZE)
            t.free(a)
            t.peek(a)
            """)
        #expect(msg?.contains("segmentation fault: hog touched") == true, "\(msg ?? "no error")")
        #expect(h.machine.log.text.contains("hog[414]: segfault at"))
    }

    @Test func aSyscallRunsAsTheSpawnedTaskOnItsAddressSpace() throws {
        let h = try KernelHarness()
        let v = h.values("""
            SYSCALL_DEFINE("fill", function(ubuf)
              local k = kmalloc(16, GFP_KERNEL)
              poke(k, current.comm .. "/" .. current.pid)
              local left = copy_to_user(ubuf, k, 16)
              kfree(k)
              return left
            end)
            local t = user.spawn("worker")
            local a = t.malloc(PAGE_SIZE)
            local b = user.malloc(PAGE_SIZE)
            return t.syscall("fill", a), t.peek(a, 10), user.syscall("fill", b), user.peek(b, 9)
            """)
        #expect(v == [.integer(0), .string(Array("worker/414".utf8)), .integer(0), .string(Array("a.out/413".utf8))])
    }

    /// __set_task_comm(): strscpy into char comm[TASK_COMM_LEN], so 15
    /// bytes and a NUL; a name ends at a NUL.
    @Test func commIsCutToFifteenBytes() throws {
        #expect(Machine.taskComm("a-very-long-program-name") == "a-very-long-pro")
        #expect(Machine.taskComm("short") == "short")
        #expect(Machine.taskComm("nul\u{0}after") == "nul")
        #expect(Machine.taskComm("") == "")
        // 14 ASCII bytes and a 2-byte character: the character would be cut
        // in two, so it goes whole.
        #expect(Machine.taskComm(String(repeating: "x", count: 14) + "é") == String(repeating: "x", count: 14))
        for n in 0..<40 {
            let s = String(repeating: "é", count: n)
            let c = Machine.taskComm(s)
            #expect(c.utf8.count <= 15 && s.hasPrefix(c))
        }
    }

    @Test func badArgumentsAreClearErrors() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("user.spawn(42)")?.contains("user.spawn: comm must be the program's name (a string), got 42") == true)
        #expect(h.errorMessage("user.spawn()")?.contains("comm must be the program's name") == true)
        #expect(h.errorMessage("user.spawn({})")?.contains("comm must be") == true)
        #expect(h.errorMessage("local t = user.spawn('x'); t.malloc('lots')")?.contains("x[414].malloc") == true)
        #expect(h.errorMessage("local t = user.spawn('x'); t.poke(0x1000, 300)") != nil)
    }

    @Test func aTaskFromBeforeBootIsRefused() throws {
        let h = try KernelHarness()
        let msg = h.errorMessage("""
            local t = user.spawn("old")
            boot{}
            t.malloc(10)
            """)
        #expect(msg?.contains("boot{} has replaced") == true, "\(msg ?? "no error")")
    }

    @Test func spawningIsBounded() throws {
        let h = try KernelHarness()
        let msg = h.errorMessage("for i = 1, 2000 do user.spawn('t' .. i) end")
        #expect(msg?.contains("too many user tasks") == true, "\(msg ?? "no error")")
        #expect(h.machine.userProcesses.count == Machine.maxSpawnedProcesses + 1)
    }

    @Test func userSpawnIsDocumented() throws {
        let h = try KernelHarness()
        let docs = h.env.docs
        #expect(docs["user.spawn"]?.signature == "user.spawn(comm) -> task")
        #expect(docs["user.pid"]?.signature == "user.pid = 413")
        #expect(docs["user.malloc"]?.summary.contains("t.malloc(n)") == true)
    }

    /// mm/oom_kill.c through Lua: the OOM killer takes the spawned hog, a
    /// report of kind "oom-kill" is raised, and the hog's methods then
    /// raise an error naming the kill.
    @Test func theOOMKillerKillsASpawnedHog() throws {
        let h = try KernelHarness()
        let msg = h.errorMessage("""
            boot{ram = "64M"}
            local hog = user.spawn("hog")
            local a = hog.malloc(8 << 20)
            for i = 0, (8 << 20) - 1, PAGE_SIZE do hog.poke(a + i, 1) end
            local pages = {}
            local function kills()
              local n = 0
              for _, r in ipairs(reports()) do if r.kind == "oom-kill" then n = n + 1 end end
              return n
            end
            while kills() == 0 do
              pages[#pages + 1] = assert(__get_free_pages(GFP_KERNEL, 0))
            end
            assert(dmesg():find("Out of memory: Killed process 414 (hog)", 1, true))
            for _, p in ipairs(pages) do free_page(p) end
            hog.peek(a)
            """)
        #expect(msg?.contains("hog[414].peek: user task 414 (hog) was killed by the OOM killer") == true, "\(msg ?? "no error")")
    }
}
