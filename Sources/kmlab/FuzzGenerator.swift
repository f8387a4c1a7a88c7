import Foundation
import KernelLua
import LuaBridge
import SeededRandom

/// One documented API name, as the fuzzer calls it.
struct FuzzAPIName: Sendable {
    enum Shape: Sendable { case call([String]), tableCall, method([String]), value }
    let name: String
    let shape: Shape
}

/// Writes random kernel-API scripts: a seeded, reproducible stream of call
/// sequences over every documented name (read from the API's own docs, so
/// a name added tomorrow is fuzzed tomorrow), with edge and garbage
/// arguments, calls from interrupt handlers, tasklets, work items and
/// syscalls, under locks and with interrupts or bottom halves off, and
/// `boot{}` with odd options, also from inside callbacks.
///
/// A script is a list of top-level statements (the unit the minimiser
/// removes), after a fixed prologue. Every call is made through `pcall`
/// most of the time, so a script goes on after an error and reaches more
/// state; some are unprotected, so errors also end scripts.
struct FuzzGenerator {
    let names: [FuzzAPIName]
    var rng: SplitMix64
    /// Whether hazard statements are written (off: random calls only, the
    /// generator as it was before them, to compare what each finds).
    var hazards = true

    /// The names documented by a fresh kernel environment, with the shape
    /// of a call parsed from each doc's signature.
    static func documentedNames() throws -> [FuzzAPIName] {
        let lua = try LuaState(profile: .sandbox, limits: .unlimited)
        defer { lua.close() }
        let kernel = KernelEnvironment(lua: lua)
        return kernel.docs.keys.sorted().compactMap { name in
            guard let doc = kernel.docs[name] else { return nil }
            return FuzzAPIName(name: name, shape: shape(of: name, signature: doc.signature))
        }
    }

    static func shape(of name: String, signature: String) -> FuzzAPIName.Shape {
        let rest = signature.hasPrefix(name) ? signature.dropFirst(name.count) : Substring(signature)
        if rest.hasPrefix("{") { return .tableCall }
        guard rest.hasPrefix("("), let close = rest.firstIndex(of: ")") else { return .value }
        let inside = rest[rest.index(after: rest.startIndex)..<close]
        let params = inside.split(separator: ",").map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: " []."))
        }.filter { !$0.isEmpty }
        return name.contains(":") ? .method(params) : .call(params)
    }

    init(names: [FuzzAPIName], seed: UInt64) {
        self.names = names
        self.rng = SplitMix64(state: seed)
    }

    static let prologue = """
    local V, L, D, F = {}, {}, {}, {}
    local function v(i) return V[(i % (#V + 1)) + 1] end
    local function keep(ok, ...) if ok then for i = 1, select("#", ...) do V[#V + 1] = (select(i, ...)) end end end
    local weird = setmetatable({}, {__index = function() error("index trap") end, __len = function() return 2^62 end,
      __tostring = function() return "weird" end, __eq = function() return true end, __lt = function() error("lt trap") end,
      __call = function() return 1 end})
    """

    /// A whole script: the prologue and `count` statements.
    mutating func script(statements count: Int) -> [String] {
        (0..<count).map { _ in statement(depth: 0) }
    }

    // MARK: Statements

    mutating func statement(depth: Int) -> String {
        switch pick(100) {
        case 0..<38: return "keep(pcall(\(call(depth: depth))))"
        case 38..<50: return hazards ? hazard(depth: depth) : "keep(pcall(\(call(depth: depth))))"
        case 50..<52: return rawCall(depth: depth) // an error here ends the script (or the callback)
        case 52..<60: return "L[#L + 1] = spin_lock_init(\(pick(2) == 0 ? "" : "\"l\(pick(4))\""))"
        case 60..<66: return locked(depth: depth)
        case 66..<72: return callback(depth: depth)
        case 72..<76: return "D[#D + 1] = select(2, pcall(pci_device, \(deviceOptions())))"
        case 76..<80: return boot()
        case 80..<85: return "for i = 1, \(pick(40) + 1) do keep(pcall(\(call(depth: depth)))) end"
        case 85..<90: return "keep(pcall(user.syscall, \(argument(hint: "name")), \(argument(hint: "addr")), \(argument(hint: "size"))))"
        case 90..<94: return "pcall(raise_irq, \(argument(hint: "irq")))"
        case 94..<97: return "pcall(flush_scheduled_work)"
        default: return "V[#V + 1] = \(argument(hint: ""))"
        }
    }

    // MARK: Hazards

    /// The ingredients of every class of host bug kmlab has had (README,
    /// "Safety guarantees"), written on purpose rather than left to chance:
    /// a random call sequence almost never builds an interrupt storm or a
    /// scribble over the boot page tables. `FuzzTests` checks that a fixed
    /// seed's scripts contain each of them.
    enum Hazard: CaseIterable {
        case irqStorm, scribble, hugeLength, libraryBomb, reportFlood, bootInCallback, observeOrder, oddAddress
    }

    mutating func hazard(depth: Int) -> String {
        let all = Hazard.allCases
        switch all[pick(all.count)] {
        case .irqStorm: return irqStorm()
        case .scribble: return scribble()
        case .hugeLength: return hugeLength()
        case .libraryBomb: return libraryBomb()
        case .reportFlood: return reportFlood()
        case .bootInCallback: return bootInCallback(depth: depth)
        case .observeOrder: return observeOrder()
        case .oddAddress: return oddAddress()
        }
    }

    /// A handler that raises its own line, or two handlers raising each
    /// other's lines; sometimes under spin_lock_irqsave or with irqs off.
    mutating func irqStorm() -> String {
        let a = [1, 3, 5, 9, 11, 15][pick(6)], b = a + 1
        let ret = pick(4) == 0 ? "IRQ_NONE" : "IRQ_HANDLED"
        let flags = pick(3) == 0 ? "IRQF_SHARED" : "0"
        var storm: String
        if pick(2) == 0 {
            storm = "keep(pcall(request_irq, \(a), function() pcall(raise_irq, \(a)) return \(ret) end, \(flags), \"storm\", nil)) "
                + "pcall(raise_irq, \(a))"
        } else {
            storm = "keep(pcall(request_irq, \(a), function() pcall(raise_irq, \(b)) return \(ret) end, \(flags), \"ping\", nil)) "
                + "keep(pcall(request_irq, \(b), function() pcall(raise_irq, \(a)) return IRQ_HANDLED end, \(flags), \"pong\", nil)) "
                + "pcall(raise_irq, \(a))"
        }
        switch pick(4) {
        case 0: return "do local l = L[#L] or spin_lock_init() local ok, f = pcall(spin_lock_irqsave, l) \(storm) pcall(spin_unlock_irqrestore, l, f) end"
        case 1: return "pcall(local_irq_disable) \(storm) pcall(local_irq_enable)"
        default: return storm
        }
    }

    /// memset/memcpy over the boot-time page tables (the last 16 pages
    /// before the kernel image's end, for each arch and era) and the
    /// reserved frames below them.
    mutating func scribble() -> String {
        let ends = ["(26 << 20)", "(48 << 20)", "(4 << 20)", "(6 << 20)"] // (Lua's << binds looser than -)
        let page = "(\(ends[pick(ends.count)]) - \(pick(17) + 1) * PAGE_SIZE)"
        let targets = ["PAGE_OFFSET + \(page)", "PAGE_OFFSET", "PAGE_OFFSET + 4096 * \(pick(256))", "PAGE_OFFSET + (16 << 20)"]
        let dst = targets[pick(targets.count)]
        let lengths = ["PAGE_SIZE", "8", "64 << 20", "16 * PAGE_SIZE", "(1 << 20)"]
        let n = lengths[pick(lengths.count)]
        switch pick(3) {
        case 0: return "pcall(memcpy, \(dst), \(targets[pick(targets.count)]), \(n))"
        case 1: return "pcall(poke, \(dst) + \(pick(512) * 8), string.rep(\"\\255\", 8))"
        default: return "pcall(memset, \(dst), \([0, 0xff, 0xab, 0x5a][pick(4)]), \(n))"
        }
    }

    /// memset/memcpy/memcmp with lengths no machine has.
    mutating func hugeLength() -> String {
        let huge = ["math.maxinteger", "1 << 40", "1 << 62", "-1", "2^53", "math.mininteger", "(1 << 32) + 1"]
        let fn = ["memset", "memcpy", "memcmp"][pick(3)]
        let a = address(), b = address(), n = huge[pick(huge.count)]
        return fn == "memset" ? "pcall(memset, \(a), 0, \(n))" : "pcall(\(fn), \(a), \(b), \(n))"
    }

    /// C library calls that do unbounded work inside one call.
    mutating func libraryBomb() -> String {
        let bombs = [
            "pcall(string.rep, \"\", math.maxinteger)",
            "pcall(string.rep, \"x\", 1 << 40)",
            "pcall(string.rep, \"\", math.maxinteger, \"\")",
            "pcall(string.rep, \"ab\", 1 << 22, \",\")",
            "pcall(table.move, {}, 1, math.maxinteger, 2)",
            "pcall(table.move, {1, 2, 3}, math.mininteger, math.maxinteger, 1)",
            "pcall(string.find, string.rep(\"a\", 3000), string.rep(\"a-\", 40) .. \"b\")",
            "pcall(string.match, string.rep(\"a\", 60), string.rep(\"a?\", 60) .. string.rep(\"a\", 60))",
            "pcall(string.gsub, string.rep(\"x\", 5000), \"(x*)*y\", \"\")",
            "for m in string.gmatch(string.rep(\"ab\", 2000), \".-.-.-.-b\") do end",
            "pcall(table.concat, setmetatable({}, {__len = function() return 1 << 40 end, __index = table.concat}))",
            "pcall(table.insert, setmetatable({}, {__len = function() return math.maxinteger - 1 end}), 1, 1)",
            "pcall(table.sort, setmetatable({}, {__len = function() return 1 << 30 end, __index = function() return 1 end}))",
            "pcall(load, string.rep(\"x = 1 \", 1 << 20))",
        ]
        return bombs[pick(bombs.count)]
    }

    /// Thousands of reports in a row (double frees, bad frees).
    mutating func reportFlood() -> String {
        let n = [2_000, 5_000, 20_000, 150_000][pick(4) == 0 ? 3 : pick(3)]
        switch pick(3) {
        case 0: return "do local ok, p = pcall(kmalloc, 32, GFP_KERNEL) pcall(kfree, p) for i = 1, \(n) do pcall(kfree, p) end end"
        case 1: return "for i = 1, \(n) do pcall(kfree, 0xdeadbe00 + i * 8) end"
        default: return "do local ok, p = pcall(vmalloc, 8192) pcall(vfree, p) for i = 1, \(n) do pcall(vfree, p) end end"
        }
    }

    /// boot{} with odd options from inside a tasklet, a work item, an
    /// interrupt handler or a syscall, with more work queued behind it.
    mutating func bootInCallback(depth: Int) -> String {
        let b = boot()
        let after = "function() V[#V + 1] = 1 return IRQ_HANDLED end"
        switch pick(4) {
        case 0: return "keep(pcall(tasklet_schedule, function() \(b) end)) keep(pcall(tasklet_schedule, \(after)))"
        case 1: return "keep(pcall(schedule_work, function() \(b) end)) keep(pcall(schedule_work, \(after))) pcall(flush_scheduled_work)"
        case 2:
            let irq = pick(16)
            return "keep(pcall(request_irq, \(irq), function() \(b) return IRQ_HANDLED end, IRQF_SHARED, \"boot\", nil)) "
                + "keep(pcall(request_irq, \(irq), \(after), IRQF_SHARED, \"after\", nil)) pcall(raise_irq, \(irq))"
        default: return "keep(pcall(SYSCALL_DEFINE, \"reboot\", function() \(b) end)) keep(pcall(user.syscall, \"reboot\"))"
        }
    }

    /// What a script can observe of the host: iteration order over mixed
    /// keys (library functions of different libraries, objects), %p and
    /// tostring of objects, memory and clock figures.
    mutating func observeOrder() -> String {
        switch pick(5) {
        case 0:
            return "do local t = {[print] = 1, [string.len] = 2, [{}] = 3, [function() end] = 4, x = 5, [2] = 6, [0.5] = 7, "
                + "[true] = 8, [table.insert] = 9, [coroutine.create(print)] = 10, [math.abs] = 11, [next] = 12} "
                + "local o = {} for k, v in pairs(t) do o[#o + 1] = v end print(table.concat(o, \" \")) end"
        case 1:
            return "do local t, k = {[pairs] = 1, [string.rep] = 2, [type] = 3, [utf8.char] = 4, [V] = 5}, nil "
                + "local o = {} repeat k = next(t, k) o[#o + 1] = k and t[k] until k == nil print(table.concat(o, \",\")) end"
        case 2: return "print(string.format(\"%p %p %s %s %s\", {}, print, function() end, string.len, V), tostring(F[1]), tostring(weird))"
        case 3: return "print(collectgarbage(\"count\"), os.clock())"
        default: return "do local o = {} for k in pairs(V) do o[#o + 1] = tostring(k) end print(#o, tostring(V[1]), tostring(L[1]), tostring(D[1])) end"
        }
    }

    /// Addresses that are not what they claim: freed, foreign, vmalloc,
    /// user, physical; numbers that are not addresses.
    mutating func oddAddress() -> String {
        switch pick(6) {
        case 0: return "do local ok, p = pcall(kmalloc, \([8, 64, 4096, 8192][pick(4)]), GFP_KERNEL) if ok and p then pcall(kfree, p) V[#V + 1] = p end end"
        case 1: return "do local ok, p = pcall(vmalloc, 8192) if ok and p then pcall(vfree, p) V[#V + 1] = p end end"
        case 2: return "keep(pcall(user.malloc, \(["4096", "1", "1 << 30"][pick(3)])))"
        case 3: return "keep(pcall(virt_to_phys, v(\(pick(32)))))"
        case 4: return "keep(pcall(alloc_pages, GFP_KERNEL, \(pick(4))))"
        default: return "V[#V + 1] = \(["0/0", "math.mininteger", "math.maxinteger", "-0.0", "1e308", "weird", "setmetatable({}, {__index = V})"][pick(7)])"
        }
    }

    mutating func rawCall(depth: Int) -> String {
        let c = call(depth: depth)
        guard let comma = c.firstIndex(of: ",") else { return c + "()" }
        return c[..<comma] + "(" + c[c.index(after: comma)...].trimmingCharacters(in: .whitespaces) + ")"
    }

    /// A statement run with a lock held, interrupts or bottom halves off.
    mutating func locked(depth: Int) -> String {
        let inner = (0..<(pick(3) + 1)).map { _ in statement(depth: depth + 1) }.joined(separator: " ")
        switch pick(5) {
        case 0: return "do local l = L[#L] or spin_lock_init() local ok, f = pcall(spin_lock_irqsave, l) \(inner) pcall(spin_unlock_irqrestore, l, f) end"
        case 1: return "do local l = L[#L] or spin_lock_init() pcall(spin_lock, l) \(inner) pcall(spin_unlock, l) end"
        case 2: return "pcall(local_irq_disable) \(inner) pcall(local_irq_enable)"
        case 3: return "pcall(local_bh_disable) \(inner) pcall(local_bh_enable)"
        default: return "do local l = L[#L] or spin_lock_init() pcall(spin_lock_bh, l) \(inner) pcall(spin_unlock_bh, l) end"
        }
    }

    /// Registers code to run in another context.
    mutating func callback(depth: Int) -> String {
        let body = function(depth: depth + 1)
        switch pick(6) {
        case 0:
            let irq = pick(4) == 0 ? argument(hint: "irq") : String(pick(16))
            return "keep(pcall(request_irq, \(irq), \(body), \(pick(3) == 0 ? "IRQF_SHARED" : "0"), \"fz\", \(argument(hint: "")))) pcall(raise_irq, \(irq))"
        case 1: return "keep(pcall(tasklet_schedule, \(body)))"
        case 2: return "keep(pcall(schedule_work, \(body)))"
        case 3: return "keep(pcall(SYSCALL_DEFINE, \"fz\(pick(3))\", \(body))) keep(pcall(user.syscall, \"fz\(pick(3))\", \(argument(hint: "addr"))))"
        case 4: return "F[#F + 1] = \(body)"
        default: return "if F[1] then keep(pcall(F[\(pick(4) + 1)] or F[1], \(argument(hint: "")))) end"
        }
    }

    mutating func function(depth: Int) -> String {
        guard depth < 3 else { return "function() return \(pick(2) == 0 ? "IRQ_HANDLED" : "IRQ_NONE") end" }
        let body = (0..<(pick(3) + 1)).map { _ in statement(depth: depth) }.joined(separator: " ")
        return "function(...) \(body) return \(pick(3) == 0 ? "IRQ_NONE" : "IRQ_HANDLED") end"
    }

    mutating func boot() -> String {
        let options = ["", "arch = \"x86_64\"", "arch = \"x86_32\"", "ram = \"16M\"", "ram = \"0\"", "ram = \"8G\"",
                       "ram = -1", "ram = \"1T\"", "era = \"2.6\"", "era = \"9\"", "seed = \(pick(5))",
                       "fragmented = true", "arch = 1", "bogus = 1", "seed = 0/0", "ram = math.huge"]
        let chosen = (0..<pick(3)).map { _ in options[pick(options.count)] }.filter { !$0.isEmpty }
        return pick(6) == 0 ? "pcall(boot, \(argument(hint: "")))" : "pcall(boot, {\(chosen.joined(separator: ", "))})"
    }

    mutating func deviceOptions() -> String {
        let opts = ["name = \"nic\(pick(3))\"", "irq = \(argument(hint: "irq"))", "dma_mask_bits = \([24, 32, 64, 0, -1, 65][pick(6)])"]
        return pick(8) == 0 ? argument(hint: "") : "{" + opts.filter { _ in pick(3) != 0 }.joined(separator: ", ") + "}"
    }

    // MARK: Calls and arguments

    /// "f, a, b" (the function and its arguments, for pcall).
    mutating func call(depth: Int) -> String {
        let api = names[pick(names.count)]
        switch api.shape {
        case .value:
            return "function() return \(api.name) end"
        case .tableCall:
            return api.name == "boot" ? "boot, {}" : "\(api.name), \(api.name == "pci_device" ? deviceOptions() : argument(hint: ""))"
        case .call(let params):
            return ([api.name] + arguments(for: params, depth: depth)).joined(separator: ", ")
        case .method(let params):
            let method = api.name.split(separator: ":").last.map(String.init) ?? api.name
            let dev = pick(6) == 0 ? argument(hint: "") : "D[\(pick(3) + 1)]"
            return (["function(...) local d = \(dev) return d:\(method)(...) end"] + arguments(for: params, depth: depth)).joined(separator: ", ")
        }
    }

    mutating func arguments(for params: [String], depth: Int) -> [String] {
        var args = params.map { argument(hint: $0, depth: depth) }
        switch pick(10) {
        case 0: if !args.isEmpty { args.removeLast() }
        case 1: args.append(argument(hint: "", depth: depth))
        default: break
        }
        return args
    }

    mutating func argument(hint: String, depth: Int = 3) -> String {
        // A quarter of all arguments ignore the hint: anything goes anywhere.
        let h = pick(4) == 0 ? "" : hint.lowercased()
        if h.contains("fn") || h.contains("handler") { return depth < 3 ? function(depth: depth + 1) : "function() end" }
        if h.contains("lock") { return "L[\(pick(3) + 1)]" }
        if h.contains("flag") || h.contains("gfp") { return gfp() }
        if h.contains("size") || h == "n" || h.contains("count") || h.contains("len") { return size() }
        if h.contains("order") { return ["0", "1", "3", "10", "11", "12", "-1", "64", "math.maxinteger"][pick(9)] }
        if h.contains("addr") || h == "p" || h.contains("ptr") || h == "to" || h == "from" || h.contains("dst")
            || h.contains("src") || h.contains("page") || h.contains("pfn") || h.contains("phys") { return address() }
        if h.contains("name") { return ["\"x\"", "\"\"", "\"fz0\"", "string.rep(\"n\", 300)", "\"\\0\""][pick(5)] }
        if h.contains("irq") { return ["0", "1", "5", "15", "16", "255", "-1", "1e9"][pick(8)] }
        return anything()
    }

    mutating func gfp() -> String {
        let flags = ["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_USER", "GFP_DMA", "GFP_DMA32",
                     "__GFP_HIGHMEM", "__GFP_ZERO", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_NOWARN", "GFP_HIGHUSER_MOVABLE"]
        switch pick(6) {
        case 0: return anything()
        case 1: return "\(flags[pick(flags.count)]) | \(flags[pick(flags.count)])"
        default: return flags[pick(flags.count)]
        }
    }

    mutating func size() -> String {
        let sizes = ["0", "1", "8", "100", "4096", "4097", "PAGE_SIZE * 4", "KMALLOC_MAX_SIZE", "KMALLOC_MAX_SIZE + 1",
                     "1 << 20", "1 << 30", "-1", "math.maxinteger", "math.mininteger", "0/0", "1/0", "2.5", "2^53"]
        return pick(5) == 0 ? anything() : sizes[pick(sizes.count)]
    }

    mutating func address() -> String {
        switch pick(12) {
        case 0..<4: return "v(\(pick(32)))"
        case 4: return "(v(\(pick(32))) or 0) + \([1, 8, 4095, 4096, -1, -16][pick(6)])"
        case 5: return "PAGE_OFFSET"
        case 6: return "VMALLOC_START + \(pick(3) * 4096)"
        case 7: return "(select(2, pcall(__pa, v(\(pick(32))))) or 0)"
        case 8: return "(select(2, pcall(user.malloc, \(pick(3) == 0 ? "-1" : "4096"))) or 0)"
        case 9: return ["0", "0xdeadbeef", "0xc0000000", "-4096", "math.maxinteger", "math.mininteger", "0x8048000"][pick(7)]
        default: return anything()
        }
    }

    mutating func anything() -> String {
        let values = ["nil", "true", "false", "0", "-1", "1", "0/0", "1/0", "-1/0", "math.maxinteger", "math.mininteger",
                      "2^63", "1e308", "-0.0", "0.5", "\"\"", "\"x\"", "\"4096\"", "{}", "{1, 2, 3}", "weird",
                      "function() end", "print", "coroutine.create(function() end)", "V", "v(\(pick(32)))",
                      "L[1]", "D[1]", "string.rep(\"\\255\", 64)", "GFP_KERNEL", "PAGE_SIZE", "{n = 1}"]
        return values[pick(values.count)]
    }

    mutating func pick(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
}
