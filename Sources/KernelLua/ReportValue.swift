import CLua
import KernelSim
import LuaBridge

/// A kernel report as a Lua value: a table with `kind`, `severity`,
/// `headline`, `text`, `address`, `size`, `cache`, `context` and the extra
/// fields, whose `tostring` is the report text. A BUG/Oops ends the running
/// task with this value as the error; `reports()` lists all of them.
///
/// The Swift side never trusts the table's contents (a script can edit it):
/// the structured report is kept in a registry-side list by identity, and
/// graders read `machine.log.reports` directly.
enum ReportValue {
    static let metatableName = "kmlab.report"

    static func installMetatable(in lua: LuaState) {
        luaL_newmetatable(lua.L, metatableName)
        lua_pushstring(lua.L, "__tostring")
        lua.pushFunction(named: "tostring") { call in
            _ = call.rawField(1, "text")
            return 1
        }
        lua_rawset(lua.L, -3)
        lua_pushstring(lua.L, "__name")
        lua_pushstring(lua.L, "kernel report")
        lua_rawset(lua.L, -3)
        kmlab_pop(lua.L, 1)
    }

    /// Pushes `report` as a table with the report metatable.
    static func push(_ report: KernelReport, on call: LuaCall) {
        let L = call.L
        lua_createtable(L, 0, 10)
        func set(_ key: String, _ value: String?) {
            guard let value else { return }
            lua_pushstring(L, key)
            lua_pushstring(L, value)
            lua_rawset(L, -3)
        }
        set("kind", report.kind.rawValue)
        set("severity", report.severity.rawValue)
        set("headline", report.headline)
        set("text", report.text)
        set("cache", report.cache)
        set("context", report.context)
        if let a = report.address {
            lua_pushstring(L, "address")
            call.push(address: a)
            lua_rawset(L, -3)
        }
        if let s = report.size {
            lua_pushstring(L, "size")
            lua_pushinteger(L, lua_Integer(s))
            lua_rawset(L, -3)
        }
        for key in report.fields.keys.sorted() where !["kind", "severity", "headline", "text"].contains(key) {
            set(key, report.fields[key])
        }
        _ = kmlab_getmetatable_registry(L, metatableName)
        lua_setmetatable(L, -2)
    }

    /// The structured report behind an error value, if it is one of ours:
    /// matched against the machine's log by text, never trusted as given.
    static func report(in state: LuaState, at index: Int32) -> Any? {
        let T = state.currentThread
        guard lua_type(T, index) == LUA_TTABLE else { return nil }
        guard lua_getmetatable(T, index) != 0 else { return nil }
        _ = kmlab_getmetatable_registry(T, metatableName)
        let ours = lua_rawequal(T, -1, -2) != 0
        kmlab_pop(T, 2)
        guard ours else { return nil }
        lua_pushstring(T, "text")
        lua_rawget(T, index < 0 ? index - 1 : index)
        let text = state.string(at: -1, on: T)
        kmlab_pop(T, 1)
        return text.map { ReportText(text: $0) }
    }
}

/// The text of a report carried by a Lua error (see `ReportValue.report`).
public struct ReportText: Sendable, Equatable {
    public var text: String
}
