import Testing
@testable import KernelSim

/// request_irq/free_irq (kernel/irq/manage.c), handlers in hardirq context
/// (kernel/irq/handle.c, kernel/irq/spurious.c), /proc/interrupts
/// (kernel/irq/proc.c show_interrupts, arch/x86/kernel/irq.c).
@Suite struct IrqTests {
    @Test func irqfSharedAndFriendsHaveTheirInterruptHValues() {
        #expect(IRQF.shared == 0x80)
        #expect(IRQF.oneshot == 0x2000)
        #expect(IRQF.triggerMask == 0xf)
        #expect(IRQF.noAutoen == 0x80000)
        #expect(IRQF.timer == 0x14200)
        #expect(IrqReturn.none.rawValue == 0 && IrqReturn.handled.rawValue == 1 && IrqReturn.wakeThread.rawValue == 2)
    }

    @Test func requestIrqReturnValues() throws {
        let m = Machine()
        let h: IrqHandler = { .handled }
        #expect(m.requestIrq(11, handler: h, flags: 0, name: "nic", devId: "nic") == 0)
        // taken without IRQF_SHARED on both sides: -EBUSY and genirq's line
        #expect(m.requestIrq(11, handler: h, flags: IRQF.shared, name: "snd", devId: "snd") == -16)
        #expect(m.log.text.contains("genirq: Flags mismatch irq 11. 00000080 (snd) vs. 00000000 (nic)"))
        // bad arguments: -EINVAL
        #expect(m.requestIrq(12, handler: h, flags: IRQF.shared, name: "x", devId: nil) == -22)
        #expect(m.requestIrq(-1, handler: h, flags: 0, name: "x", devId: 1) == -22)
        #expect(m.requestIrq(256, handler: h, flags: 0, name: "x", devId: 1) == -22)
        #expect(m.requestIrq(12, handler: nil, flags: 0, name: "x", devId: 1) == -22)
        // both shared: fine, and both show in /proc/interrupts
        #expect(m.requestIrq(16, handler: h, flags: IRQF.shared, name: "ehci_hcd:usb1", devId: 1) == 0)
        #expect(m.requestIrq(16, handler: h, flags: IRQF.shared, name: "eth0", devId: 2) == 0)
        #expect(m.contexts.irqActionNames(16) == ["ehci_hcd:usb1", "eth0"])
        // the keyboard controller already owns line 1
        #expect(m.requestIrq(1, handler: h, flags: 0, name: "mykbd", devId: 1) == -16)
        // no report for any of this: return values only
        #expect(m.log.reports.isEmpty)
    }

    @Test func aHandlerRunsInHardirqContextWithIrqsOff() throws {
        let m = Machine()
        var seen: [String] = []
        _ = m.requestIrq(11, handler: {
            let c = m.contexts
            seen = [c.contextName, "\(c.inIrq)", "\(c.inHardirq)", "\(c.inInterrupt)", "\(c.inTask)",
                    "\(c.irqsDisabled)", "\(c.inAtomic)", String(c.preemptCount, radix: 16), c.currentComm,
                    "\(c.canSleep)"]
            return .handled
        }, flags: 0, name: "nic", devId: 1)
        #expect(try m.raiseIrq(11) == .delivered)
        #expect(seen == ["hardirq", "true", "true", "true", "false", "true", "true", "10000", "insmod", "false"])
        #expect(m.contexts.contextName == "process" && !m.contexts.irqsDisabled && m.contexts.preemptCount == 0)
        #expect(m.contexts.irqCount(11) == 1)
    }

    @Test func gfpKernelInAHandlerIsTheSplatWithAnIrqCallTrace() throws {
        let m = Machine()
        var stack = [" init+0x0/0x0 [nic.lua:40]"]
        m.callTraceProvider = { stack }
        _ = m.requestIrq(11, handler: {
            stack.insert(" nic_irq+0x0/0x0 [nic.lua:20]", at: 0)
            defer { stack.removeFirst() }
            m.mightSleep(file: "include/linux/sched/mm.h", line: 337, function: "__kmalloc_noprof")
            return .handled
        }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        let r = try #require(m.log.reports.first)
        #expect(r.context == "hardirq")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 412, name: insmod")
        #expect(r.lines[2] == "preempt_count: 10000, expected: 0")
        let trace = Array(r.lines.drop { $0 != "Call Trace:" })
        #expect(trace == ["Call Trace:", " <IRQ>", " dump_stack_lvl", " __might_resched", " __kmalloc_noprof",
                          " nic_irq+0x0/0x0 [nic.lua:20]", " __handle_irq_event_percpu", " handle_irq_event",
                          " handle_edge_irq", " __common_interrupt", " common_interrupt", " </IRQ>", " <TASK>",
                          " asm_common_interrupt", " init+0x0/0x0 [nic.lua:40]", " </TASK>"])
    }

    @Test func aLineRaisedWhileItsHandlerRunsIsPendedAndDeliveredAfter() throws {
        let m = Machine()
        var order: [String] = []
        var depth = 0
        _ = m.requestIrq(11, handler: {
            depth += 1
            defer { depth -= 1 }
            order.append("start \(depth)")
            if order.count == 1 { let d = try m.raiseIrq(11); #expect(d == .pending) }
            order.append("end \(depth)")
            return .handled
        }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(order == ["start 1", "end 1", "start 1", "end 1"])
        #expect(m.contexts.irqCount(11) == 2)
        #expect(m.contexts.pendingInterrupts.isEmpty)
    }

    @Test func aHandlerRaisingItselfForeverIsBoundedByThePendingLatch() throws {
        // each run pends one more: the latch holds one, and every delivery is
        // a separate interrupt after the previous returned; stop after 50.
        let m = Machine()
        var runs = 0
        _ = m.requestIrq(11, handler: {
            runs += 1
            if runs < 50 { try m.raiseIrq(11); try m.raiseIrq(11) }
            return .handled
        }, flags: 0, name: "storm", devId: 1)
        try m.raiseIrq(11)
        #expect(runs == 50)
        #expect(m.contexts.depth == 0)
    }

    @Test func interruptsWaitWhileIrqsAreOffAndArriveInOrder() throws {
        let m = Machine()
        var order: [Int] = []
        for irq in [10, 11, 12] {
            _ = m.requestIrq(irq, handler: { order.append(irq); return .handled }, flags: 0, name: "d\(irq)", devId: irq)
        }
        m.localIrqDisable()
        #expect(try m.raiseIrq(12) == .pending)
        #expect(try m.raiseIrq(10) == .pending)
        #expect(try m.raiseIrq(12) == .pending)  // one latch per line
        #expect(m.contexts.pendingInterrupts == [12, 10])
        #expect(order.isEmpty)
        try m.localIrqEnable()
        #expect(order == [12, 10])
    }

    @Test func anInterruptPendingUnderIrqsaveArrivesInsideSpinUnlockIrqrestore() throws {
        let m = Machine()
        let l = m.spinLockInit()
        var pc: UInt32 = 0
        _ = m.requestIrq(11, handler: { pc = m.contexts.preemptCount; return .handled }, flags: 0, name: "nic", devId: 1)
        let flags = try m.spinLockIrqsave(l)
        try m.raiseIrq(11)
        #expect(pc == 0)
        try m.spinUnlockIrqrestore(l, flags: flags)
        // local_irq_restore() comes before preempt_enable()
        #expect(pc == 0x10001)
    }

    @Test func procInterruptsHasTheKernelsLayout() throws {
        let m = Machine()
        _ = m.requestIrq(11, handler: { .handled }, flags: 0, name: "nic", devId: 1)
        _ = m.requestIrq(16, handler: { .handled }, flags: IRQF.shared, name: "ehci_hcd:usb1", devId: 1)
        _ = m.requestIrq(16, handler: { .handled }, flags: IRQF.shared, name: "eth0", devId: 2)
        try m.raiseIrq(11)
        try m.raiseIrq(11)
        try m.raiseIrq(16)
        let lines = m.procInterrupts().split(separator: "\n").map(String.init)
        #expect(lines[0] == "           CPU0       ")
        #expect(lines[1] == "  0:         47   IO-APIC   2-edge      timer")
        #expect(lines[2] == "  1:          9   IO-APIC   1-edge      i8042")
        #expect(lines[3] == "  8:          1   IO-APIC   8-edge      rtc0")
        #expect(lines[4] == "  9:          0   IO-APIC   9-fasteoi   acpi")
        #expect(lines[5] == " 11:          2   IO-APIC  11-edge      nic")
        #expect(lines[6] == " 16:          1   IO-APIC  16-fasteoi   ehci_hcd:usb1, eth0")
        #expect(lines[7] == "NMI:          0   Non-maskable interrupts")
        // One local timer tick per jiffy since power-on (the script starts at moduleLoadUptime).
        #expect(lines[8] == "LOC:       \(Machine.moduleLoadUptime / 4_000_000)   Local timer interrupts")
        #expect(lines.suffix(2) == ["ERR:          0", "MIS:          0"])
    }

    @Test func localTimerInterruptsFollowSimulatedTime() throws {
        let m = Machine()
        let before = m.jiffies
        try m.msleep(1000)
        #expect(m.jiffies - before == 250)
        #expect(m.procInterrupts().contains("LOC:       \(m.jiffies)   Local timer interrupts"))
    }

    @Test func bogusReturnValueIsReported() throws {
        let m = Machine()
        _ = m.requestIrq(11, handler: { IrqReturn(rawValue: 42) }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        let r = try #require(m.log.reports.first)
        #expect(r.kind == .badIrqReturn)
        #expect(r.headline == "irq event 11: bogus return value 2a")
        #expect(r.lines.contains("handlers:"))
        #expect(r.lines.last == "[<00000000>] nic")
        #expect(r.fields["irq"] == "11" && r.fields["return"] == "42")
    }

    @Test func irqNoneIsCountedNotReported() throws {
        let m = Machine()
        _ = m.requestIrq(11, handler: { .none }, flags: 0, name: "nic", devId: 1)
        for _ in 0..<10 { try m.raiseIrq(11) }
        #expect(m.log.reports.isEmpty)
        #expect(m.contexts.irqCount(11) == 10)
    }

    @Test func aThrowingHandlerUnwindsTheContext() throws {
        struct LuaError: Error {}
        let m = Machine()
        _ = m.requestIrq(11, handler: { throw LuaError() }, flags: 0, name: "nic", devId: 1)
        #expect(throws: LuaError.self) { try m.raiseIrq(11) }
        #expect(m.contexts.contextName == "process")
        #expect(m.contexts.depth == 0 && m.contexts.preemptCount == 0 && !m.contexts.irqsDisabled)
    }

    @Test func anOopsInAHandlerPanics() throws {
        let m = Machine()
        let oops = KernelReport(kind: .nullPointerDereference, severity: .oops,
                                lines: ["BUG: kernel NULL pointer dereference, address: 00000008"])
        _ = m.requestIrq(11, handler: { throw KernelOops(report: oops) }, flags: 0, name: "nic", devId: 1)
        #expect(throws: KernelOops.self) { try m.raiseIrq(11) }
        #expect(m.log.text.contains("Kernel panic - not syncing: Fatal exception in interrupt"))
        #expect(m.contexts.panicMessage == "Fatal exception in interrupt")
    }

    @Test func raisingALineNobodyRequestedIsUnhandled() throws {
        let m = Machine()
        #expect(try m.raiseIrq(5) == .unhandled)
        #expect(m.contexts.spuriousInterrupts == 1)
        #expect(throws: ContextError.self) { try m.raiseIrq(1000) }
    }

    @Test func freeIrqReturnsTheNameAndWarnsOnDoubleFree() throws {
        let m = Machine()
        _ = m.requestIrq(11, handler: { .handled }, flags: IRQF.shared, name: "nic", devId: "a")
        _ = m.requestIrq(11, handler: { .handled }, flags: IRQF.shared, name: "snd", devId: "b")
        #expect(m.freeIrq(11, devId: "b") == "snd")
        #expect(m.contexts.irqActionNames(11) == ["nic"])
        #expect(m.freeIrq(11, devId: "b") == nil)
        let r = try #require(m.log.reports.first)
        #expect(r.headline == "Trying to free already-free IRQ 11")
        #expect(r.lines[2] == "WARNING: CPU: 0 PID: 412 at kernel/irq/manage.c:1868 __free_irq+0x28/0x40")
        #expect(r.lines[3] == "Modules linked in: kmlab(O)")
        #expect(r.lines[4] == "CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G           O       6.12.0 #1")
        // add_taint() comes after the dump: the next report shows W
        m.freeIrq(11, devId: "b")
        #expect(m.log.reports.last?.lines[4] == "CPU: 0 UID: 0 PID: 412 Comm: insmod Tainted: G        W  O       6.12.0 #1")
    }

    @Test func freeIrqFromItsOwnHandlerWarns() throws {
        let m = Machine()
        _ = m.requestIrq(11, handler: { m.freeIrq(11, devId: 1); return .handled }, flags: 0, name: "nic", devId: 1)
        try m.raiseIrq(11)
        #expect(m.log.reports.map(\.headline) == [
            "Trying to free IRQ 11 from IRQ context!",
            "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585",
        ])
    }

    @Test func requestIrqMaySleep() throws {
        let m = Machine()
        m.localIrqDisable()
        #expect(m.requestIrq(11, handler: { .handled }, flags: 0, name: "nic", devId: 1) == 0)
        #expect(m.log.reports.first?.headline == "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:337")
    }
}
