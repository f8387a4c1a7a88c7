import CLua
import KernelSim
import LuaBridge

/// A memoized `LuaState.callTrace`: the machine asks for the Lua call stack
/// at every allocation and free (for KASAN's "Allocated by" / "Freed by"
/// stacks and kmemleak), which made building strings, and then working out
/// line numbers, the main cost of a kmalloc from Lua. A stack is identified
/// by a hash instead; the strings are built and interned in the machine only
/// the first time a stack is seen, and afterwards the cache hands the
/// machine the interned id.
///
/// The hash, where the Lua library passes shim `callsite.h`'s self-test, is
/// of the instruction each frame is executing (no line tables decoded);
/// the functions of every cached stack are kept alive so that no new code
/// can reuse those instruction addresses while the cache remembers them.
/// Elsewhere it falls back to what `lua_getinfo("Sl")` reports.
///
/// One cache serves a Lua state for its whole life, across `boot{}`: the
/// text of a stack does not depend on the machine, only its id does (each
/// machine has its own intern table). A grader boots a machine per case and
/// runs the same setup code on each, so after the first case every stack's
/// text is known and a new machine only interns it.
///
/// The innermost frame is the Swift function running now (a C frame, which
/// `lua_getinfo` describes as "[C]" whatever the function): it is
/// identified by `LuaState.currentFunction` instead, which is cheaper and
/// tells `kfree(kmalloc(n, f))`'s two calls apart (one line, same Lua frame).
final class CallTraceCache: CallTraceSource {
    private let lua: LuaState
    /// Stack key → the trace's id in the bound machine's intern table.
    private var cache: [UInt64: Int32] = [:]
    /// Stack key → the trace's text (whatever the machine).
    private var texts: [UInt64: [String]] = [:]
    /// The machine `cache`'s ids belong to (it is the environment's current
    /// machine, kept alive by it while bound, so no other machine can have
    /// its identity meanwhile).
    private var bound: ObjectIdentifier?
    /// The stacks seen last: a loop allocates and frees from the same few
    /// stacks again and again, and this spares the dictionary's hashing.
    private static let recentSlots = 4
    /// (Plain buffers: on every call, arrays' uniqueness and bounds checks showed.)
    private let recentKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: CallTraceCache.recentSlots)
    private let recentIds = UnsafeMutablePointer<Int32>.allocate(capacity: CallTraceCache.recentSlots)
    private var recentNext = 0
    /// Bound the cache: a script that calls from ever new lines cannot grow it without limit.
    private static let maxEntries = 4096
    /// As `LuaState.callTrace`.
    private static let maxFrames: Int32 = 24

    /// Reused by every `stackKey` (a `lua_Debug` is ~200 bytes to clear).
    private let ar = UnsafeMutablePointer<lua_Debug>.allocate(capacity: 1)

    /// Whether this process's Lua has the CallInfo layout `callsite.h` reads.
    static let identifiesByInstruction: Bool = kmlab_callsite_selftest() != 0
    /// The registry key of the table that keeps cached stacks' functions alive.
    nonisolated(unsafe) private static let anchorKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    /// The functions of the cached stacks are anchored (a new table after a reset).
    private var anchorsReset = true
    /// `identifiesByInstruction`, read once (a static's lazy check costs on every call).
    private let fast: Bool

    init(lua: LuaState) {
        self.lua = lua
        fast = CallTraceCache.identifiesByInstruction
        ar.initialize(to: lua_Debug())
        super.init()
        recentKeys.initialize(repeating: 0, count: CallTraceCache.recentSlots)
        recentIds.initialize(repeating: -1, count: CallTraceCache.recentSlots)
    }

    deinit {
        ar.deallocate()
        recentKeys.deallocate()
        recentIds.deallocate()
    }

    /// Makes `machine` ask this cache for its call traces (the ids of the
    /// machine before are forgotten; the texts are kept).
    func install(on machine: Machine) {
        cache.removeAll(keepingCapacity: true)
        forgetRecent()
        bound = ObjectIdentifier(machine)
        machine.callTraceSource = self
        machine.callTraceProvider = { [self, unowned machine] in machine.internedTrace(traceId(in: machine)) }
    }

    /// The current stack's id in `machine`'s intern table, from the cache
    /// when this stack was seen before.
    override func traceId(in machine: Machine) -> Int32 {
        let key = fast ? instructionKey() : stackKey()
        // A machine `boot{}` replaced, still finishing a step: no caching.
        guard ObjectIdentifier(machine) == bound else {
            return machine.internTrace(texts[key] ?? lua.callTrace(maxFrames: Int(CallTraceCache.maxFrames)))
        }
        for i in 0..<CallTraceCache.recentSlots where recentKeys[i] == key && recentIds[i] >= 0 {
            return recentIds[i]
        }
        let id: Int32
        if let cached = cache[key] {
            id = cached
        } else if let text = texts[key] {
            id = machine.internTrace(text)
            cache[key] = id
        } else {
            let text = lua.callTrace(maxFrames: Int(CallTraceCache.maxFrames))
            id = machine.internTrace(text)
            if texts.count >= CallTraceCache.maxEntries { forgetAll() }
            if fast {
                // Cached only once its functions are kept alive.
                let anchored = kmlab_anchor_stack(lua.currentThread, CallTraceCache.anchorKey, firstLuaLevel,
                                                  CallTraceCache.maxFrames - firstLuaLevel, anchorsReset ? 1 : 0)
                guard anchored != 0 else { return id }
                anchorsReset = false
            }
            cache[key] = id
            texts[key] = text
        }
        recentKeys[recentNext] = key
        recentIds[recentNext] = id
        recentNext = (recentNext + 1) % CallTraceCache.recentSlots
        return id
    }

    /// Empties the cache (it is bounded); the anchored functions may go.
    private func forgetAll() {
        cache.removeAll(keepingCapacity: true)
        texts.removeAll(keepingCapacity: true)
        forgetRecent()
        anchorsReset = true
    }

    private func forgetRecent() {
        for i in 0..<CallTraceCache.recentSlots { recentKeys[i] = 0; recentIds[i] = -1 }
    }

    /// The first level `callTrace` describes from the Lua stack (0 is the
    /// running Swift function, named by its identity when there is one).
    private var firstLuaLevel: Int32 { lua.currentFunction == nil ? 0 : 1 }

    /// The running Swift function's identity, then `kmlab_stack_key`.
    private func instructionKey() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var level: Int32 = 0
        if let f = lua.currentFunction {
            h = kmlab_fnv_mix(h, UInt64(UInt(bitPattern: f)) ^ (0xfe << 56))
            level = 1
        }
        return kmlab_stack_key(lua.currentThread, level, CallTraceCache.maxFrames - level, h)
    }

    /// FNV-1a over the frames' chunk, current line, first line and kind
    /// (`maxFrames` frames at most, as `callTrace`), the innermost one being the
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
