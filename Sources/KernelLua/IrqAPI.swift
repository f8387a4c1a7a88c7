import KernelSim
import LuaBridge

/// Interrupt lines: glue to KernelSim/Contexts/Interrupts.swift. A Lua
/// handler is called as `handler(irq, dev_id)` in hardirq context and must
/// return IRQ_HANDLED or IRQ_NONE.
enum IrqAPI {
    static let topic = ContextAPI.topic

    static func install(into env: KernelEnvironment, glue: ContextGlue) {
        for (name, value) in IRQF.all {
            env.constant(name, Int64(value), doc: APIDoc(topic: topic, signature: "\(name) = 0x\(String(value, radix: 16))",
                summary: "A request_irq flag (include/linux/interrupt.h). IRQF_SHARED lets several handlers share a line; each must then pass its own dev_id and return IRQ_NONE for interrupts that are not its device's.",
                kernel: "include/linux/interrupt.h"))
        }
        for (name, value, summary) in [
            ("IRQ_NONE", IrqReturn.none.rawValue, "A handler's answer: the interrupt was not from this device (on a shared line, another handler's). A line nobody answers 99,900 times out of 100,000 is disabled: \"irq N: nobody cared\"."),
            ("IRQ_HANDLED", IrqReturn.handled.rawValue, "A handler's answer: the interrupt was from this device and has been dealt with."),
            ("IRQ_WAKE_THREAD", IrqReturn.wakeThread.rawValue, "A handler's answer asking to wake the threaded handler (there is none in kmlab: the kernel says so)."),
        ] {
            env.constant(name, Int64(value), doc: APIDoc(topic: topic, signature: "\(name) = \(value)", summary: summary,
                                                         kernel: "include/linux/irqreturn.h"))
        }

        env.define("request_irq", doc: APIDoc(topic: topic, signature: "request_irq(irq, handler, flags, name, dev_id) -> 0 | -errno",
            summary: "Installs handler(irq, dev_id) on interrupt line irq. The handler runs in hardirq context with interrupts off whenever the line is raised (raise_irq, dev:raise_irq): it must not sleep (GFP_ATOMIC, no mutex, no msleep) and must return IRQ_HANDLED or IRQ_NONE. Returns 0, -EBUSY if the line is taken and the two requests do not both say IRQF_SHARED, -EINVAL for a bad line, a missing handler, or IRQF_SHARED without dev_id. Appears in /proc/interrupts under name.",
            context: "process context (it may sleep)", failure: "-EBUSY or -EINVAL",
            kernel: "kernel/irq/manage.c request_threaded_irq()")) { call in
            let irqV = try call.integer(1, "irq", expected: "an interrupt line number")
            if !call.isNil(2) { try call.checkFunction(2, "handler") }
            let flagsV = try call.integer(3, "flags", expected: "IRQF_* flags (0 for none)")
            guard flagsV >= 0 else { throw call.argumentError(3, "flags", "IRQF_* flags (0 for none)") }
            let name = try call.string(4, "name")
            guard let irq = Int(exactly: irqV), irq >= -1_000_000, irq <= 1_000_000 else {
                call.push(Errno.EINVAL.negated)
                return 1
            }
            let dev = glue.devKey(call, 5)
            var handler: IrqHandler?
            var refs: [LuaReference] = []
            if !call.isNil(2) {
                let fn = call.reference(2)
                let devRef = call.reference(5)
                refs = [fn, devRef]
                let what = "irq \(irq) handler \(glue.functionName(call, 2)) (\(name))"
                let gen = glue.generation
                handler = { [unowned glue] in
                    let r = try glue.invoke(fn, madeIn: gen, what: what, arguments: [.integer(Int64(irq)), .reference(devRef)], results: 1)
                    return try irqReturn(r.first, what: what)
                }
            }
            let result = env.machine.requestIrq(irq, handler: handler, flags: UInt64(flagsV), name: name, devId: dev)
            if result == 0 {
                glue.rememberIrq(irq, dev: dev, refs: refs)
            } else {
                for r in refs { env.lua.release(r) }
            }
            call.push(result)
            return 1
        }
        env.define("free_irq", doc: APIDoc(topic: topic, signature: "free_irq(irq, dev_id) -> name | nil",
            summary: "Removes the handler that request_irq installed with this dev_id and returns its name. Freeing a line that has no such handler is the kernel's \"Trying to free already-free IRQ\" warning.",
            context: "process context (it may sleep)", kernel: "kernel/irq/manage.c free_irq()")) { call in
            let irqV = try call.integer(1, "irq", expected: "an interrupt line number")
            let dev = glue.devKey(call, 2)
            guard let irq = Int(exactly: irqV) else { call.pushNil(); return 1 }
            if let name = env.machine.freeIrq(irq, devId: dev) {
                glue.forgetIrq(irq, dev: dev)
                call.push(name)
            } else {
                call.pushNil()
            }
            return 1
        }
        env.define("raise_irq", doc: APIDoc(topic: topic, signature: "raise_irq(irq) -> \"delivered\" | \"pending\" | \"unhandled\"",
            summary: "The simulated hardware asserts interrupt line irq. With interrupts on, the CPU takes it at once: the line's handlers run in hardirq context (in_irq() true, interrupts off), then tasklets they scheduled run in softirq context. With interrupts off, or while the line's own handler runs, it is latched (\"pending\") and delivered as soon as that ends, so a handler that raises its own line does not recurse. A line nobody requested counts as spurious (\"unhandled\").",
            failure: "an error for a line number that does not exist; an error inside the handler ends the call with that error",
            kernel: "kernel/irq/handle.c handle_irq_event(), arch/x86/kernel/irq.c common_interrupt()")) { call in
            let irqV = try call.integer(1, "irq", expected: "an interrupt line number")
            guard let irq = Int(exactly: irqV), irq >= 0, irq < env.machine.contexts.nrIrqs else {
                throw call.argumentError(1, "irq", "an interrupt line 0..\(env.machine.contexts.nrIrqs - 1)")
            }
            call.push(name(try env.machine.raiseIrq(irq)))
            return 1
        }
    }

    static func name(_ d: IrqDelivery) -> String {
        switch d {
        case .delivered: return "delivered"
        case .pending: return "pending"
        case .unhandled: return "unhandled"
        }
    }

    /// What a Lua handler returned, as `irqreturn_t`: an integer (any
    /// integer: the kernel itself reports bogus values); nothing or a
    /// non-integer is a Lua error naming the handler.
    static func irqReturn(_ v: LuaValue?, what: String) throws -> IrqReturn {
        switch v {
        case .integer(let i)?:
            return IrqReturn(rawValue: Int(clamping: i))
        case .number(let d)? where d.rounded() == d && abs(d) < 1e15:
            return IrqReturn(rawValue: Int(d))
        case nil, .nil?:
            throw ContextError("\(what) returned nothing: an interrupt handler must return IRQ_HANDLED or IRQ_NONE")
        case let other?:
            throw ContextError("\(what) returned \(describe(other)): an interrupt handler must return IRQ_HANDLED or IRQ_NONE")
        }
    }

    static func describe(_ v: LuaValue) -> String {
        switch v {
        case .boolean(let b): return "a boolean (\(b))"
        case .number(let d): return "a number (\(d))"
        case .string(let s): return "a string (\"\(String(decoding: s.prefix(40), as: UTF8.self))\")"
        case .table: return "a table"
        case .function: return "a function"
        case .thread: return "a coroutine"
        case .userdata(let t): return "a \(t)"
        default: return "a \(v)"
        }
    }
}
