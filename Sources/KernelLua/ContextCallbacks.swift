import KernelSim
import LuaBridge

/// Lua functions the simulated kernel calls back (irq handlers, tasklets,
/// work, syscalls) and the handles it gives out (locks, devices), for the
/// machine now running. `boot{}` makes a fresh machine: everything here is
/// released then, and handles from before refuse to work.
///
/// A callback is kept alive by a registry reference and called through
/// `LuaState.protectedCall`, so a Lua error inside a handler comes back to
/// Swift as a value, never as a longjmp across Swift frames. The error is
/// then thrown on as a Swift error through the KernelSim code that called
/// the handler (which unwinds its contexts) up to the Lua function that
/// started it all (`raise_irq`, `user.syscall`, `msleep`...).
final class ContextGlue {
    unowned let env: KernelEnvironment
    /// Bumped by `boot{}`: handles carry the generation they were made in.
    private(set) var generation: Int64 = 0
    private var refs: [LuaReference] = []
    /// One tasklet / work item per Lua function (by identity), so that
    /// scheduling the same function twice before it runs queues it once.
    private var tasklets: [UnsafeRawPointer: Pending<Tasklet>] = [:]
    private var works: [UnsafeRawPointer: Pending<WorkItem>] = [:]

    /// A deferred function and the reference keeping its Lua function alive.
    struct Pending<T: AnyObject> {
        var item: T
        var ref: LuaReference
    }
    /// Registry references of each requested irq action, by (irq, dev_id key).
    private var irqRefs: [IrqKey: [LuaReference]] = [:]
    /// The handler reference of each syscall, by name (a redefinition drops the old one).
    private var syscallRefs: [String: LuaReference] = [:]
    /// Lock and device objects, by handle id.
    var locks: [KernelLock] = []
    var devices: [PciDevice] = []

    struct IrqKey: Hashable {
        var irq: Int
        var dev: AnyHashable?
    }

    init(env: KernelEnvironment) {
        self.env = env
        env.onMachineReplaced { [unowned self] _ in self.reset() }
    }

    var machine: Machine { env.machine }
    var lua: LuaState { env.lua }

    /// Forgets everything of the previous machine.
    func reset() {
        for r in refs { lua.release(r) }
        refs.removeAll()
        for rs in irqRefs.values { for r in rs { lua.release(r) } }
        for r in syscallRefs.values { lua.release(r) }
        syscallRefs.removeAll()
        irqRefs.removeAll()
        for p in tasklets.values { lua.release(p.ref) }
        for p in works.values { lua.release(p.ref) }
        tasklets.removeAll()
        works.removeAll()
        locks.removeAll()
        devices.removeAll()
        generation &+= 1
    }

    /// Keeps the value at `index` alive until the next boot.
    func keep(_ call: LuaCall, _ index: Int32) -> LuaReference {
        let r = call.reference(index)
        refs.append(r)
        return r
    }

    /// Keeps a syscall's handler alive, releasing the one it replaces (which
    /// is no longer in the table, so it is never called again).
    func keepSyscall(_ call: LuaCall, _ index: Int32, name: String) -> LuaReference {
        let r = call.reference(index)
        if let old = syscallRefs.updateValue(r, forKey: name) { lua.release(old) }
        return r
    }

    // MARK: naming functions

    /// A name for the Lua function at `index`: the global it is stored in,
    /// else `fn@chunk:line` (as `%ps` would print a symbol).
    func functionName(_ call: LuaCall, _ index: Int32) -> String {
        let name: String
        if let global = call.globalName(of: index, limit: 10_000) {
            name = global
        } else if let site = call.definitionSite(of: index) {
            name = "fn@\(site.source):\(site.line)"
        } else {
            return "fn"
        }
        // Frames of this function in a report's Call Trace show the name.
        lua.recordFunctionName(name, forFunctionAt: index, on: call.L)
        return name
    }

    /// `chunk:line` of the Lua code calling the current Swift function (a
    /// lock's init site: lockdep keys classes by it).
    func callerSite(_ call: LuaCall) -> String? {
        call.callerPosition(level: 1).map { "\($0.source):\($0.line)" }
    }

    // MARK: tasklets and work

    /// The tasklet of the Lua function at `index`. Its reference is held
    /// while it is scheduled and dropped once it has run and is not
    /// scheduled again, so a script scheduling fresh closures in a loop does
    /// not pile up host memory.
    func tasklet(_ call: LuaCall, _ index: Int32) -> Tasklet {
        let key = call.identity(index)
        if let key, let t = tasklets[key]?.item { return t }
        let ref = call.reference(index)
        let name = functionName(call, index)
        let gen = generation
        let t = Tasklet(name: name) { [unowned self] in
            defer { self.ran(key, generation: gen) { $0.tasklets } drop: { $0.tasklets[$1] = nil } }
            _ = try self.invoke(ref, madeIn: gen, what: "tasklet \(name)", arguments: [], results: 0)
        }
        if let key { tasklets[key] = Pending(item: t, ref: ref) } else { refs.append(ref) }
        return t
    }

    /// The work item of the Lua function at `index` (same lifetime rule as tasklets).
    func work(_ call: LuaCall, _ index: Int32) -> WorkItem {
        let key = call.identity(index)
        if let key, let w = works[key]?.item { return w }
        let ref = call.reference(index)
        let name = functionName(call, index)
        let gen = generation
        let w = WorkItem(name: name) { [unowned self] in
            defer { self.ran(key, generation: gen) { $0.works } drop: { $0.works[$1] = nil } }
            _ = try self.invoke(ref, madeIn: gen, what: "work \(name)", arguments: [], results: 0)
        }
        if let key { works[key] = Pending(item: w, ref: ref) } else { refs.append(ref) }
        return w
    }

    /// After a deferred function ran: forget it unless it queued itself again.
    private func ran<T: AnyObject>(_ key: UnsafeRawPointer?, generation gen: Int64,
                                   _ table: (ContextGlue) -> [UnsafeRawPointer: Pending<T>],
                                   drop: (ContextGlue, UnsafeRawPointer) -> Void) {
        guard gen == generation, let key, let p = table(self)[key] else { return }
        let again: Bool
        switch p.item {
        case let t as Tasklet: again = t.isScheduled
        case let w as WorkItem: again = w.isPending
        default: again = false
        }
        guard !again else { return }
        drop(self, key)
        lua.release(p.ref)
    }

    // MARK: irq actions

    /// The dev_id of `request_irq`/`free_irq` as a key: the value itself for
    /// numbers, strings and booleans, identity for tables, functions, handles.
    func devKey(_ call: LuaCall, _ index: Int32) -> AnyHashable? {
        switch call.kind(index) {
        case .nil, .none: return nil
        case .number:
            if call.isInteger(index) { return AnyHashable(call.uncheckedInteger(index)) }
            return AnyHashable(call.uncheckedNumber(index))
        case .boolean: return AnyHashable(call.truthy(index))
        case .string: return AnyHashable(call.state.bytes(at: index, on: call.L) ?? [])
        default:
            let p = call.identity(index).map { UInt(bitPattern: $0) } ?? 0
            return AnyHashable(p)
        }
    }

    func rememberIrq(_ irq: Int, dev: AnyHashable?, refs rs: [LuaReference]) {
        irqRefs[IrqKey(irq: irq, dev: dev), default: []] += rs
    }

    func forgetIrq(_ irq: Int, dev: AnyHashable?) {
        // Kept until the next boot rather than released: the handler may be
        // the one running now (free_irq from its own handler).
        guard let rs = irqRefs.removeValue(forKey: IrqKey(irq: irq, dev: dev)) else { return }
        refs += rs
    }

    // MARK: calling Lua

    /// An argument for a callback.
    typealias Argument = LuaCallbackArgument

    /// Calls the Lua function `ref` with `arguments`, protected, on the
    /// thread now running; returns up to `results` results. A kernel report
    /// that ended the callback is thrown again as `KernelOops`; a budget
    /// overrun as the `LuaFailure` itself; any other Lua error as a
    /// `LuaFailure` whose message says which callback failed.
    ///
    /// `gen` is the generation the reference was made in: `boot{}` releases
    /// every reference of the machine it replaces, and the registry slot may
    /// already hold an unrelated value, so a reference from an older
    /// generation is never called (a `ContextError` instead). The retired
    /// machine stops its loops (`Machine.retire`), so this is the last line
    /// of defence, not the mechanism.
    func invoke(_ ref: LuaReference, madeIn gen: Int64, what: String, arguments: [Argument],
                results: Int32) throws -> [LuaValue] {
        try invoke(ref, madeIn: gen, what: what, arguments: arguments, results: results, keepFirst: nil)
    }

    /// `invoke`, handing the callback's first result to `keepFirst` as a
    /// registry reference (whatever its type) before the stack is reset.
    func invoke(_ ref: LuaReference, madeIn gen: Int64, what: String, arguments: [Argument],
                results: Int32, keepFirst: ((LuaReference) -> Void)?) throws -> [LuaValue] {
        guard gen == generation else {
            throw ContextError("\(what) belongs to a machine that boot{} has replaced: it is not called")
        }
        do {
            return try lua.callback(ref, arguments: arguments, results: results, keepFirst: keepFirst)
        } catch is LuaStackExhausted {
            throw ContextError("\(what): the Lua stack is exhausted")
        } catch let failure as LuaFailure {
            throw translate(failure, what: what)
        }
    }

    private func translate(_ failure: LuaFailure, what: String) -> Error {
        if let text = failure.payload as? ReportText,
           let report = machine.log.reports.last(where: { $0.text == text.text }) {
            return KernelOops(report: report)
        }
        guard failure.kind == .error else { return failure }
        if failure.message.hasPrefix("\(what) failed: ") || failure.message.contains(" failed: ") { return failure }
        var f = failure
        f.message = "\(what) failed: \(failure.message)"
        return f
    }
}
