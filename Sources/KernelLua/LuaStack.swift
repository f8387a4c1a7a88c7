import CLua
import LuaBridge

/// The Lua call stack as the `Call Trace:` of a kernel report: innermost
/// first, one line per frame, with the Lua function name and file:line.
enum LuaStack {
    static func callTrace(of state: LuaState, maxFrames: Int = 24) -> [String] {
        let T = state.currentThread
        var lines: [String] = []
        var level: Int32 = 0
        var ar = lua_Debug()
        while lines.count < maxFrames, lua_getstack(T, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(T, "Sln", &ar) != 0 else { continue }
            let name = ar.name.map { String(cString: $0) }
            let what = ar.what.map { String(cString: $0) } ?? ""
            let src = withUnsafeBytes(of: ar.short_src) { raw -> String in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            if what == "C" {
                lines.append(" \(name ?? "?")")
            } else if what == "main" {
                lines.append(" <chunk> [\(src):\(ar.currentline)]")
            } else {
                lines.append(" \(name ?? CallbackNames.lookup(T, &ar) ?? "<anonymous>") [\(src):\(ar.currentline)]")
            }
        }
        return lines
    }
}
