import CLua
import KernelSim
import LuaBridge

/// A memoized `LuaStack.callTrace`: the machine asks for the Lua call stack
/// at every allocation and free (for KASAN's "Allocated by" / "Freed by"
/// stacks and kmemleak), which made building strings the main cost of a
/// kmalloc from Lua. The frames are identified by a hash of what
/// `lua_getinfo("Sl")` reports (source, line, function start, kind) without
/// allocating; the strings are built only the first time a stack is seen,
/// and the same array instance is handed back afterwards, so the machine's
/// intern table recognises it by identity.
final class CallTraceCache {
    private let lua: LuaState
    private var cache: [UInt64: [String]] = [:]
    /// Bound the cache: a script that calls from ever new lines cannot grow it without limit.
    private static let maxEntries = 4096

    init(lua: LuaState) { self.lua = lua }

    /// The call trace, from the cache when this stack was seen before.
    func callTrace() -> [String] {
        let key = stackKey()
        if let t = cache[key] { return t }
        let t = LuaStack.callTrace(of: lua)
        if cache.count >= CallTraceCache.maxEntries { cache.removeAll(keepingCapacity: true) }
        cache[key] = t
        return t
    }

    /// FNV-1a over the frames' chunk, current line, first line and kind (24 frames at most, as LuaStack).
    private func stackKey() -> UInt64 {
        let T = lua.currentThread
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ v: UInt64) { h = (h ^ v) &* 0x100_0000_01b3 }
        var level: Int32 = 0
        var ar = lua_Debug()
        while level < 24, lua_getstack(T, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(T, "Sl", &ar) != 0 else { continue }
            mix(UInt64(bitPattern: Int64(ar.currentline)))
            mix(UInt64(bitPattern: Int64(ar.linedefined)))
            // The chunk: its source string's address and length, and the first
            // bytes of its printable name (cheaper than hashing the whole name,
            // and a recycled address would also need the same name and lines).
            mix(UInt64(UInt(bitPattern: ar.source)))
            mix(UInt64(ar.srclen))
            mix(withUnsafeBytes(of: ar.short_src) { $0.loadUnaligned(as: UInt64.self) })
            if let w = ar.what { mix(UInt64(UInt8(bitPattern: w.pointee))) }
            mix(0xff)
        }
        return h
    }
}

extension KernelEnvironment {
    /// Gives the current machine the memoized call-trace provider (after
    /// `installCallTrace` set the plain one, at start and after every boot).
    func installCachedCallTrace() {
        let cache = CallTraceCache(lua: lua)
        machine.callTraceProvider = { cache.callTrace() }
    }
}
