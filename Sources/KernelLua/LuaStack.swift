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
        // Each line is put together as bytes and decoded once: the text of
        // every new stack is built here (at an allocation or free from a
        // line not seen before), and string interpolation was most of that.
        // Decoding the whole line repairs invalid UTF-8 as decoding each
        // part did: every part ends next to an ASCII separator.
        var line: [UInt8] = []
        line.reserveCapacity(128)
        while lines.count < maxFrames, lua_getstack(T, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(T, "Sln", &ar) != 0 else { continue }
            line.removeAll(keepingCapacity: true)
            line.append(UInt8(ascii: " "))
            // `what` is "C", "main" or "Lua".
            let isC = ar.what.map { $0[0] == 67 && $0[1] == 0 } ?? false
            let isMain = ar.what.map { $0[0] == 109 && $0[1] == 97 && $0[2] == 105 && $0[3] == 110 && $0[4] == 0 } ?? false
            if isC {
                appendCString(ar.name, or: "?", to: &line)
                lines.append(String(decoding: line, as: UTF8.self))
                continue
            }
            if isMain {
                line += Array("<chunk>".utf8)
            } else if ar.name != nil {
                appendCString(ar.name, or: "", to: &line)
            } else {
                line += Array((CallbackNames.lookup(T, &ar) ?? "<anonymous>").utf8)
            }
            line += [UInt8(ascii: " "), UInt8(ascii: "[")]
            withUnsafeBytes(of: ar.short_src) { raw in
                for b in raw {
                    if b == 0 { break }
                    line.append(b)
                }
            }
            line.append(UInt8(ascii: ":"))
            line += Array(String(ar.currentline).utf8)
            line.append(UInt8(ascii: "]"))
            lines.append(String(decoding: line, as: UTF8.self))
        }
        return lines
    }

    /// Appends the bytes of the C string `s` (or of `fallback` when it is NULL).
    private static func appendCString(_ s: UnsafePointer<CChar>?, or fallback: String, to line: inout [UInt8]) {
        guard var p = s else {
            line += Array(fallback.utf8)
            return
        }
        while p.pointee != 0 {
            line.append(UInt8(bitPattern: p.pointee))
            p += 1
        }
    }
}
