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
///
/// The innermost frame is the Swift function running now (a C frame, which
/// `lua_getinfo` describes as "[C]" whatever the function): it is
/// identified by `LuaState.currentFunction` instead, which is cheaper and
/// tells `kfree(kmalloc(n, f))`'s two calls apart (one line, same Lua frame).
final class CallTraceCache {
    private let lua: LuaState
    private var cache: [UInt64: [String]] = [:]
    /// The stacks seen last: a loop allocates and frees from the same few
    /// stacks again and again, and this spares the dictionary's hashing.
    private static let recentSlots = 4
    private var recentKeys = [UInt64](repeating: 0, count: CallTraceCache.recentSlots)
    private var recentTraces = [[String]](repeating: [], count: CallTraceCache.recentSlots)
    private var recentNext = 0
    /// Bound the cache: a script that calls from ever new lines cannot grow it without limit.
    private static let maxEntries = 4096
    /// As `LuaStack.callTrace`.
    private static let maxFrames: Int32 = 24

    /// Reused by every `stackKey` (a `lua_Debug` is ~200 bytes to clear).
    private let ar = UnsafeMutablePointer<lua_Debug>.allocate(capacity: 1)

    init(lua: LuaState) {
        self.lua = lua
        ar.initialize(to: lua_Debug())
    }

    deinit { ar.deallocate() }

    /// The call trace, from the cache when this stack was seen before.
    func callTrace() -> [String] {
        let key = stackKey()
        for i in 0..<CallTraceCache.recentSlots where recentKeys[i] == key && !recentTraces[i].isEmpty {
            return recentTraces[i]
        }
        let t: [String]
        if let cached = cache[key] {
            t = cached
        } else {
            t = LuaStack.callTrace(of: lua, maxFrames: Int(CallTraceCache.maxFrames))
            if cache.count >= CallTraceCache.maxEntries { cache.removeAll(keepingCapacity: true) }
            cache[key] = t
        }
        recentKeys[recentNext] = key
        recentTraces[recentNext] = t
        recentNext = (recentNext + 1) % CallTraceCache.recentSlots
        return t
    }

    /// FNV-1a over the frames' chunk, current line, first line and kind
    /// (`maxFrames` frames at most, as LuaStack), the innermost one being the
    /// running Swift function's identity when there is one.
    private func stackKey() -> UInt64 {
        let T = lua.currentThread
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ v: UInt64) { h = (h ^ v) &* 0x100_0000_01b3 }
        var level: Int32 = 0
        let ar = self.ar
        if let f = lua.currentFunction {
            mix(UInt64(UInt(bitPattern: f)))
            mix(0xfe)
            level = 1
        }
        while level < CallTraceCache.maxFrames, lua_getstack(T, level, ar) != 0 {
            level += 1
            guard lua_getinfo(T, "Sl", ar) != 0 else { continue }
            mix(UInt64(bitPattern: Int64(ar.pointee.currentline)))
            mix(UInt64(bitPattern: Int64(ar.pointee.linedefined)))
            // The chunk: its source string's address and length, and the first
            // bytes of its printable name (cheaper than hashing the whole name,
            // and a recycled address would also need the same name and lines).
            mix(UInt64(UInt(bitPattern: ar.pointee.source)))
            mix(UInt64(ar.pointee.srclen))
            mix(withUnsafeBytes(of: &ar.pointee.short_src) { $0.loadUnaligned(as: UInt64.self) })
            if let w = ar.pointee.what { mix(UInt64(UInt8(bitPattern: w.pointee))) }
            mix(0xff)
        }
        return h
    }
}
