import CLua
import KernelSim
import LuaBridge

/// The machine as a whole: the kernel log, structured reports and help.
/// (`boot`, `cat`, `proc`, `stats`, `memmap` join this group as the memory
/// model lands.)
enum MachineAPI {
    static func install(into env: KernelEnvironment) {
        env.define("dmesg", doc: APIDoc(
            topic: "Machine", signature: "dmesg() -> string",
            summary: "The kernel log since boot, one line per message, each stamped with the simulated time as the kernel prints it: `[    0.001234] text`. Reports of misuse (KASAN, sleeping in atomic context, allocation failures, ...) appear here in the kernel's own words.",
            kernel: "dmesg(1) reading the printk ring buffer")) { call in
            call.push(env.machine.log.text)
            return 1
        }

        env.define("reports", doc: APIDoc(
            topic: "Machine", signature: "reports() -> {report, ...}",
            summary: "Every kernel report raised since boot, oldest first, as tables with `kind` (\"sleeping-in-atomic\", \"use-after-free\", ...), `severity` (\"warning\" or \"oops\"), `headline`, `text`, and `address`, `size`, `cache`, `context` where they apply. `tostring(report)` is its text.",
            kernel: "what a debug kernel prints to the log")) { call in
            let reports = env.machine.log.reports
            lua_createtable(call.L, Int32(clamping: reports.count), 0)
            for (i, r) in reports.enumerated() {
                ReportValue.push(r, on: call)
                lua_rawseti(call.L, -2, lua_Integer(i + 1))
            }
            return 1
        }

        env.define("help", doc: APIDoc(
            topic: "Machine", signature: "help([name])",
            summary: "Without an argument, lists every kernel API name by topic. With a function or a name (`help(kmalloc)`, `help \"GFP_ATOMIC\"`), prints its documentation: signature, what it does, where it is legal, what it returns on failure, and the real kernel counterpart.")) { call in
            if call.isNil(1) {
                call.state.output(Array((env.helpIndex() + "\n").utf8))
                return 0
            }
            let name: String
            if call.type(1) == LUA_TSTRING {
                name = try call.string(1, "name")
            } else if let found = env.globalName(of: call, at: 1) {
                name = found
            } else {
                throw call.error("no documentation for a \(call.typeName(1)) value; try help() for the list")
            }
            guard let text = env.helpText(for: name) else {
                throw call.error("no documentation for '\(name)'; try help() for the list")
            }
            call.state.output(Array((text + "\n").utf8))
            return 0
        }
    }
}

extension KernelEnvironment {
    /// `help()`'s listing: names grouped by topic, alphabetically.
    public func helpIndex() -> String {
        var byTopic: [String: [String]] = [:]
        for (name, doc) in docs { byTopic[doc.topic, default: []].append(name) }
        var lines = ["kmlab kernel API (help(name) for details):"]
        for topic in byTopic.keys.sorted() {
            lines.append("")
            lines.append(topic + ":")
            let names = (byTopic[topic] ?? []).sorted()
            var line = " "
            for n in names {
                if line.count + n.count + 1 > 78 { lines.append(line); line = " " }
                line += " " + n
            }
            if line.count > 1 { lines.append(line) }
        }
        return lines.joined(separator: "\n")
    }

    /// `help(name)`'s text, or nil for an undocumented name.
    public func helpText(for name: String) -> String? {
        docs[name].map { name + "\n" + String(repeating: "=", count: name.count) + "\n" + $0.render(name: name) }
    }

    /// The global name under which the function at `index` is installed (raw lookup).
    func globalName(of call: LuaCall, at index: Int32) -> String? {
        let L = call.L
        let target = lua_absindex(L, index)
        for name in docs.keys.sorted() {
            if name.contains(".") {
                let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
                lua_pushstring(L, parts[0])
                lua_rawget(L, -2)
                guard lua_type(L, -1) == LUA_TTABLE else { kmlab_pop(L, 2); continue }
                lua_pushstring(L, parts[1])
                lua_rawget(L, -2)
                let same = lua_rawequal(L, -1, target) != 0
                kmlab_pop(L, 3)
                if same { return name }
            } else {
                lua_rawgeti(L, kmlab_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
                lua_pushstring(L, name)
                lua_rawget(L, -2)
                let same = lua_rawequal(L, -1, target) != 0 && lua_type(L, -1) == LUA_TFUNCTION
                kmlab_pop(L, 2)
                if same { return name }
            }
        }
        return nil
    }
}
