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
    static let type = LuaObjectType(key: "kmlab.report")

    static func installMetatable(in lua: LuaState) {
        lua.declare(type, typeName: "kernel report", locked: false) { meta in
            meta.define("__tostring", named: "tostring") { call in
                call.push(call.rawFieldValue(1, "text"))
                return 1
            }
        }
    }

    /// Pushes `report` as a table with the report metatable.
    static func push(_ report: KernelReport, on call: LuaCall) {
        call.pushTable(fieldCount: 10) { t in
            func set(_ key: String, _ value: String?) {
                if let value { t.set(key, value) }
            }
            set("kind", report.kind.rawValue)
            set("severity", report.severity.rawValue)
            set("headline", report.headline)
            set("text", report.text)
            set("cache", report.cache)
            set("context", report.context)
            if let a = report.address { t.set("address") { call.push(address: a) } }
            if let s = report.size { t.set("size", s) }
            for key in report.fields.keys.sorted() where !["kind", "severity", "headline", "text"].contains(key) {
                set(key, report.fields[key])
            }
            t.setType(type)
        }
    }

    /// The structured report behind an error value, if it is one of ours:
    /// matched against the machine's log by text, never trusted as given.
    static func report(in state: LuaState, at index: Int32) -> Any? {
        let T = state.currentThread
        guard state.isValue(at: index, of: type, on: T) else { return nil }
        return state.rawFieldValue(at: index, "text", on: T).text.map { ReportText(text: $0) }
    }
}

/// The text of a report carried by a Lua error (see `ReportValue.report`).
public struct ReportText: Sendable, Equatable {
    public var text: String
}
