import Testing
@testable import KernelSim

/// The syscall trap (arch/x86/entry, kernel/entry/common.c, lockdep_sys_exit).
@Suite struct UserSyscallTests {
    @Test func aSyscallRunsInTheUserProgramsProcessContext() throws {
        let m = Machine()
        var seen: [String] = []
        let nr = m.syscallDefine("getpkt") { args in
            let c = m.contexts
            seen = [c.contextName, c.currentComm, String(c.currentPid), "\(c.canSleep)", "\(c.inTask)",
                    "\(c.inInterrupt)"]
            m.mightSleep(file: "mm/slub.c", line: 1)  // GFP_KERNEL is fine here
            return args[0] + args[1]
        }
        #expect(nr == 463)
        #expect(try m.syscall("getpkt", [40, 2]) == 42)
        #expect(seen == ["process", "a.out", "413", "true", "true", "false"])
        #expect(m.log.reports.isEmpty)
        #expect(m.contexts.currentComm == "insmod")
    }

    @Test func theUserProgramCanBeNamed() throws {
        let m = Machine()
        m.setUserProgram("netcat")
        var comm = ""
        m.syscallDefine("x") { _ in comm = m.contexts.currentComm; return 0 }
        _ = try m.syscall("x", [])
        #expect(comm == "netcat")
    }

    @Test func unknownSyscallsAreENOSYS() throws {
        let m = Machine()
        #expect(try m.syscall("nope", []) == -38)
    }

    @Test func syscallsCannotNest() throws {
        let m = Machine()
        m.syscallDefine("outer") { _ in try m.syscall("outer", []) }
        let e = try #require(throws: ContextError.self) { try m.syscall("outer", []) }
        #expect(e.message.contains("inside the kernel (syscall outer context)"))
        #expect(m.contexts.depth == 0 && m.contexts.currentComm == "insmod")
    }

    @Test func noSyscallFromAnInterruptHandler() throws {
        let m = Machine()
        m.syscallDefine("s") { _ in 0 }
        var caught: ContextError?
        _ = m.requestIrq(11, handler: {
            do { _ = try m.syscall("s", []) } catch let e as ContextError { caught = e }
            return .handled
        }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(caught?.message.contains("hardirq 11") == true)
    }

    @Test func noSyscallWhileTheCPUIsHeldAtomic() throws {
        let m = Machine()
        m.syscallDefine("s") { _ in 0 }
        let l = m.spinLockInit()
        try m.spinLock(l)
        #expect(throws: ContextError.self) { try m.syscall("s", []) }
    }

    @Test func returningToUserSpaceWithALockHeldIsReported() throws {
        let m = Machine()
        let l = m.spinLockInit(name: "&dev->lock")
        m.syscallDefine("leak") { _ in try m.spinLock(l); return 0 }
        #expect(try m.syscall("leak", []) == 0)
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .lockHeldReturningToUser)
        #expect(Array(r.lines.prefix(8)) == [
            "",
            "================================================",
            "WARNING: lock held when returning to user space!",
            "6.12.0 #1 Tainted: G           O      ",
            "------------------------------------------------",
            "a.out/413 is leaving the kernel with locks still held!",
            "1 lock held by a.out/413:",
            " #0: f8a01000 (&dev->lock){+.+.}-{2:2}, at: _raw_spin_lock",
        ])
        #expect(r.fields["syscall"] == "leak")
    }

    @Test func returningWithIrqsOffIsAWarning() throws {
        let m = Machine()
        m.syscallDefine("cli") { _ in m.localIrqDisable(); return 0 }
        _ = try m.syscall("cli", [])
        #expect(m.log.reports.first?.headline == "syscall 463 left IRQs disabled")
        #expect(!m.contexts.irqsDisabled)
    }

    @Test func theSyscallCallTraceStopsAtTheEntry() throws {
        let m = Machine()
        m.contexts.pointerBits = 64
        var stack = [" main+0x0/0x0 [scenario.lua:50]"]
        m.callTraceProvider = { stack }
        m.syscallDefine("read_pkt") { _ in
            stack.insert(" sys_read_pkt+0x0/0x0 [drv.lua:9]", at: 0)
            defer { stack.removeFirst() }
            let l = m.spinLockInit()
            try m.spinLock(l)
            m.mightSleep(file: "lib/usercopy.c", line: 28)
            try m.spinUnlock(l)
            return 0
        }
        _ = try m.syscall("read_pkt", [])
        let r = try #require(m.log.reports.first)
        let trace = Array(r.lines.drop { $0 != "Call Trace:" })
        #expect(trace == ["Call Trace:", " <TASK>", " dump_stack_lvl", " __might_resched",
                          " sys_read_pkt+0x0/0x0 [drv.lua:9]", " __do_sys_read_pkt", " __x64_sys_read_pkt",
                          " x64_sys_call", " do_syscall_64", " entry_SYSCALL_64_after_hwframe", " </TASK>"])
        #expect(r.lines[1].hasSuffix("pid: 413, name: a.out"))
        #expect(r.lines.contains("CPU: 0 UID: 1000 PID: 413 Comm: a.out Tainted: G           O       6.12.0 #1"))
    }
}
