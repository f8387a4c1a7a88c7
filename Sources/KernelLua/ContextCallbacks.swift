import CLua
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
        let L = call.L
        let i = lua_absindex(L, index)
        lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        lua_pushnil(L)
        // The smallest name wins when a function has several: table order
        // depends on Lua's hash seed, and output must not.
        var found: String?
        var scanned = 0
        while lua_next(L, -2) != 0 {
            scanned += 1
            if lua_type(L, -2) == LUA_TSTRING, lua_rawequal(L, -1, i) != 0,
               let name = call.state.string(at: -2, on: L), found.map({ name < $0 }) ?? true {
                found = name
            }
            kmlab_pop(L, 1)
            if scanned > 10_000 {
                kmlab_pop(L, 1)
                break
            }
        }
        kmlab_pop(L, 1)
        if let found {
            CallbackNames.record(L, function: i, name: found)
            return found
        }
        var ar = lua_Debug()
        lua_pushvalue(L, i)
        guard lua_getinfo(L, ">S", &ar) != 0 else { return "fn" }
        let src = withUnsafeBytes(of: ar.short_src) { raw -> String in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let name = "fn@\(src):\(ar.linedefined)"
        CallbackNames.record(L, function: i, name: name)
        return name
    }

    /// `chunk:line` of the Lua code calling the current Swift function (a
    /// lock's init site: lockdep keys classes by it).
    func callerSite(_ call: LuaCall) -> String? {
        var ar = lua_Debug()
        guard lua_getstack(call.L, 1, &ar) != 0, lua_getinfo(call.L, "Sl", &ar) != 0 else { return nil }
        let src = withUnsafeBytes(of: ar.short_src) { raw -> String in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return "\(src):\(ar.currentline)"
    }

    // MARK: tasklets and work

    /// The tasklet of the Lua function at `index`. Its reference is held
    /// while it is scheduled and dropped once it has run and is not
    /// scheduled again, so a script scheduling fresh closures in a loop does
    /// not pile up host memory.
    func tasklet(_ call: LuaCall, _ index: Int32) -> Tasklet {
        let key = lua_topointer(call.L, index)
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
        let key = lua_topointer(call.L, index)
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
        switch call.type(index) {
        case LUA_TNIL, LUA_TNONE: return nil
        case LUA_TNUMBER:
            if lua_isinteger(call.L, index) != 0 { return AnyHashable(Int64(lua_tointegerx(call.L, index, nil))) }
            return AnyHashable(lua_tonumberx(call.L, index, nil))
        case LUA_TBOOLEAN: return AnyHashable(lua_toboolean(call.L, index) != 0)
        case LUA_TSTRING: return AnyHashable(call.state.bytes(at: index, on: call.L) ?? [])
        default:
            let p = lua_topointer(call.L, index).map { UInt(bitPattern: $0) } ?? 0
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
    enum Argument {
        case integer(Int64)
        case reference(LuaReference)
    }

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
        let T = lua.currentThread
        let top = lua_gettop(T)
        guard lua_checkstack(T, Int32(arguments.count) + results + 4) != 0 else {
            throw ContextError("\(what): the Lua stack is exhausted")
        }
        lua.push(ref, on: T)
        for a in arguments {
            switch a {
            case .integer(let v): lua_pushinteger(T, v)
            case .reference(let r): lua.push(r, on: T)
            }
        }
        if let failure = lua.protectedCall(on: T, arguments: Int32(arguments.count), results: results) {
            lua_settop(T, top)
            throw translate(failure, what: what)
        }
        var values: [LuaValue] = []
        let n = lua_gettop(T)
        if let keepFirst, n > top { keepFirst(lua.reference(at: top + 1, on: T)) }
        if n > top { for i in (top + 1)...n { values.append(shallowValue(T, i)) } }
        lua_settop(T, top)
        return values
    }

    /// A callback's result, without copying what the glue never reads: a
    /// table comes back empty and a long string cut, so a handler returning
    /// something huge costs nothing.
    private func shallowValue(_ T: OpaquePointer, _ i: Int32) -> LuaValue {
        switch lua_type(T, i) {
        case LUA_TNIL: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(T, i) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(T, i) != 0 { return .integer(lua_tointegerx(T, i, nil)) }
            return .number(lua_tonumberx(T, i, nil))
        case LUA_TSTRING:
            var len = 0
            guard let p = lua_tolstring(T, i, &len) else { return .string([]) }
            return .string(Array(UnsafeRawBufferPointer(start: p, count: min(len, 64))))
        case LUA_TTABLE: return .table([])
        case LUA_TFUNCTION: return .function
        case LUA_TTHREAD: return .thread
        default: return .userdata(String(cString: lua_typename(T, lua_type(T, i))))
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
