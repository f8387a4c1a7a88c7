import KernelSim
import LuaBridge

/// The machine as a whole: `boot{}`, the constants of its layout, /proc,
/// counters and the simulated clock.
enum MachineStateAPI {
    static func install(into env: KernelEnvironment) {
        let topic = "Machine"
        installConstants(into: env)
        env.onMachineReplaced { [unowned env] _ in installConstants(into: env) }

        env.define("boot", doc: APIDoc(topic: topic,
            signature: "boot{arch=\"x86_32\"|\"x86_64\", ram=\"1G\", era=\"6.x\"|\"2.6\", seed=0, fragmented=false, cpus=1, failslab=\"I,P,S,T\", fail_page_alloc=\"I,P,S,T\"}",
            summary: "Starts a fresh machine with a fresh kernel log: x86_32 with 1 GiB (3G/1G split: lowmem up to 0x36ffe000, just under 880 MiB, in 6.12; 896 MiB in 2.6; the rest HighMem) by default; x86_64 has DMA, DMA32 and Normal zones and no highmem. era \"2.6\" behaves like the SLAB kernels of 2.6 (size-N caches, 128 KiB kmalloc limit). seed makes memory contents and fragmentation reproducible; fragmented=true ages the machine like a long-running system. cpus (1 to 64) brings that many CPUs online, each with its own TLB: the script runs on CPU 0, work_on_cpu and smp_call_function_single reach the others, and vfree purges lazily with TLB-flush IPIs (one CPU keeps the single-CPU machine: vfree flushes at once). Constants such as PAGE_OFFSET follow the new layout. failslab and fail_page_alloc are the kernel's fault-injection boot parameters, \"<interval>,<probability>,<space>,<times>\" (\"1,100,0,-1\": every eligible allocation fails, forever); an unparsable string logs `FAULT_INJECTION: failed to parse arguments` and leaves the defaults, as the kernel does. See /sys/kernel/debug/failslab/ and write(). A boot counts as 20,000 instructions against the script's instruction budget (about what it costs the host).",
            failure: "an error naming the bad argument; the current machine is kept", kernel: "what the bootloader and start_kernel() set up")) { call in
            if let refusal = env.bootRefusal { throw BootRefused(message: refusal) }
            var config = MachineConfig()
            if !call.isNil(1) {
                try call.checkTable(1, "options")
                config = try bootConfig(call)
            }
            let machine = try Machine(config: config)
            env.adopt(machine)
            call.state.charge(instructions: MachineStateAPI.bootCost)
            return 0
        }
        env.define("cat", doc: APIDoc(topic: topic, signature: "cat(path)",
            summary: "Prints a /proc file in the kernel's own format; also the debugfs files kmlab models. The files: \(ProcFile.docSummary()) (DMA-API debug and fault injection on 6.x only; swiotlb when the machine has a bounce pool).",
            failure: "an error naming the known paths")) { call in
            let text = try env.machine.proc(try call.string(1, "path"))
            call.state.output(Array(text.utf8))
            return 0
        }
        env.define("proc", doc: APIDoc(topic: topic, signature: "proc(path) -> string",
            summary: "The text of a /proc file, as cat prints it, for scripts to parse.", failure: "an error naming the known paths")) { call in
            call.push(try env.machine.proc(try call.string(1, "path")))
            return 1
        }
        env.define("stats", doc: APIDoc(topic: topic, signature: "stats() -> table",
            summary: "The machine's counters since boot: tlb_hits, tlb_misses, page_walks, page_faults, ptes_written, tlb_flushes, cycles (simulated CPU cycles; the clock runs at 1 GHz), allocation, reclaim and KASAN counts, and on SMP machines ipis (inter-processor interrupts sent: function calls and TLB flushes) and tlb_shootdowns (TLB flushes carried out on another CPU by an IPI).")) { call in
            let fields = env.machine.stats.fields
            call.pushTable(fieldCount: fields.count) { t in
                for (name, value) in fields { t.set(name, Int64(bitPattern: value)) }
            }
            return 1
        }
        env.define("ktime_get_ns", doc: APIDoc(topic: topic, signature: "ktime_get_ns() -> integer",
            summary: "Simulated time since boot in nanoseconds. Memory operations charge documented costs (page walks, TLB misses, PTE writes, zeroing, reclaim), so differences measure what an operation costs the simulated machine.",
            kernel: "kernel/time/timekeeping.c ktime_get_ns()")) { call in
            call.push(Int64(bitPattern: env.machine.clockNanoseconds))
            return 1
        }
    }

    /// PAGE_SIZE, PAGE_OFFSET, ... of the current layout, and the GFP flags.
    static func installConstants(into env: KernelEnvironment) {
        let layout = env.layout
        // Names the new layout lacks (MAX_PAGE_ORDER after boot{era="2.6"},
        // PKMAP_BASE on x86_64) must not keep the old machine's values.
        let present = Set(layout.constants.map { $0.name })
        for name in layoutConstantNames where !present.contains(name) {
            env.lua.setGlobal(name, .nil)
        }
        for (name, value) in layout.constants {
            env.constant(name, Int64(bitPattern: value), doc: APIDoc(topic: "Constants",
                signature: "\(name) = \(hexOrDecimal(value))", summary: constantSummary(name)))
        }
        if layout.era == .v2_6 {
            // 2.6.18's own numbers; names that came later are nil there.
            let old = Set(GFPLegacy.names.map(\.name))
            for (name, _) in GFP.names where !old.contains(name) {
                env.lua.setGlobal(name, .nil)
            }
            for (name, value, doc) in gfpConstants26 { env.constant(name, value, doc: doc) }
        } else {
            let current = Set(GFP.names.map(\.name))
            for (name, _) in GFPLegacy.names where !current.contains(name) {
                env.lua.setGlobal(name, .nil)
            }
            for (name, value, doc) in gfpConstants { env.constant(name, value, doc: doc) }
        }
    }

    /// The GFP flags of era "2.6" (include/linux/gfp.h of 2.6.18).
    static let gfpConstants26: [(String, Int64, APIDoc)] = GFPLegacy.names.map { name, value in
        (name, Int64(value), APIDoc(topic: "GFP flags", signature: "\(name) = 0x\(String(value, radix: 16))",
                                    summary: gfpSummary(name) + " (Linux 2.6.18's value, as boot{era=\"2.6\"} defines it.)",
                                    kernel: "include/linux/gfp.h (2.6.18)"))
    }

    /// The GFP flags with their docs, written once per process (every state
    /// installs them, and again at every boot{}).
    static let gfpConstants: [(String, Int64, APIDoc)] = GFP.names.map { name, value in
        (name, Int64(value), APIDoc(topic: "GFP flags", signature: "\(name) = 0x\(String(value, radix: 16))",
                                    summary: gfpSummary(name), kernel: "include/linux/gfp_types.h"))
    }

    /// Every name `installConstants` may define, on any machine, sorted.
    static let constantNames: [String] = Array(Set(layoutConstantNames + GFP.names.map(\.name)
        + GFPLegacy.names.map(\.name))).sorted()

    /// What a boot{} costs the instruction budget: about the host time of a
    /// boot (some 40 us) in VM instructions. A script that boots in a loop
    /// runs out of budget instead of out of wall-clock time.
    static let bootCost: Int64 = 20_000

    /// Every layout constant any machine defines.
    static let layoutConstantNames = ["PAGE_SIZE", "PAGE_SHIFT", "PAGE_OFFSET", "KMALLOC_MAX_SIZE",
        "KMALLOC_MAX_CACHE_SIZE", "MAX_ORDER", "MAX_PAGE_ORDER", "NR_PAGE_ORDERS", "VMALLOC_START", "VMALLOC_END",
        "PKMAP_BASE", "LAST_PKMAP", "FIXADDR_START", "FIXADDR_TOP"]

    static func hexOrDecimal(_ v: UInt64) -> String { v >= 0x10000 ? "0x" + String(v, radix: 16) : String(v) }

    static func constantSummary(_ name: String) -> String {
        switch name {
        case "PAGE_SIZE": return "Bytes in a page: 4096 on x86."
        case "PAGE_SHIFT": return "log2(PAGE_SIZE): 12 on x86."
        case "PAGE_OFFSET": return "Where the direct map starts: kernel virtual address of physical address 0 (0xC0000000 on x86_32 3G/1G, 0xffff888000000000 on x86_64)."
        case "KMALLOC_MAX_SIZE": return "The largest kmalloc: 4 MiB in 6.x (an order-10 block), 128 KiB in early 2.6."
        case "KMALLOC_MAX_CACHE_SIZE": return "The largest size served by a kmalloc cache (8 KiB in 6.x); larger requests get whole pages."
        case "MAX_ORDER", "MAX_PAGE_ORDER": return "The largest buddy order (10 → 4 MiB blocks); before 6.4 MAX_ORDER was 11 and exclusive."
        case "VMALLOC_START", "VMALLOC_END": return "Bounds of the vmalloc area."
        default: return "A kernel layout constant."
        }
    }

    static func gfpSummary(_ name: String) -> String {
        switch name {
        case "GFP_KERNEL": return "The normal flags for kernel allocations in process context: may sleep to reclaim memory (__GFP_DIRECT_RECLAIM), may do I/O and filesystem work. Never in an interrupt handler or under a spinlock."
        case "GFP_ATOMIC": return "For contexts that cannot sleep (interrupt handlers, spinlocks): never sleeps, may use the reserves below the min watermark (__GFP_HIGH), fails more easily."
        case "GFP_NOWAIT": return "Does not sleep and does not dip into reserves; a failure warns unless __GFP_NOWARN is added (6.12; 6.18 made GFP_NOWAIT itself quiet)."
        case "GFP_NOIO": return "May sleep but must not start I/O (block-layer paths)."
        case "GFP_NOFS": return "May sleep but must not call into the filesystem (filesystem paths)."
        case "GFP_USER", "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE": return "For memory mapped into user space; HIGHUSER may come from highmem, MOVABLE may be migrated."
        case "GFP_DMA": return "Only ZONE_DMA (below 16 MiB): for ISA-style devices with 24-bit DMA."
        case "GFP_DMA32": return "Only below 4 GiB (x86_64): for devices with 32-bit DMA."
        case "__GFP_HIGHMEM": return "The allocation may come from ZONE_HIGHMEM (page allocator only; kmalloc strips it with a warning)."
        case "__GFP_ZERO": return "Return zeroed memory."
        case "__GFP_NOWARN": return "Do not print the allocation-failure warning."
        case "__GFP_NOFAIL": return "Retry forever rather than fail (use sparingly)."
        case "__GFP_NORETRY": return "Give up quickly rather than reclaim hard."
        case "__GFP_RETRY_MAYFAIL": return "Try hard, but fail rather than invoke the OOM killer."
        case "__GFP_DIRECT_RECLAIM": return "The caller may sleep to reclaim memory: gfpflags_allow_blocking()."
        default: return "A GFP flag bit or composite."
        }
    }

    /// Reads boot{} options with raw access; unknown keys are errors (typos).
    static func bootConfig(_ call: LuaCall) throws -> MachineConfig {
        var config = MachineConfig()
        let known: Set<String> = ["arch", "ram", "era", "seed", "fragmented", "tlb_entries", "tlb_entries_large",
                                   "failslab", "fail_page_alloc", "cpus"]
        // More keys than `known` holds means an unknown one among the first
        // known.count + 1: the walk needs no other limit.
        try call.forEachRawKey(ofTable: 1, limit: known.count + 1) { key in
            guard let name = key.text, known.contains(name) else {
                throw call.error("unknown option \(key.text.map { "'\($0)'" } ?? "of type \(key.typeName)"); known: \(known.sorted().joined(separator: ", "))")
            }
            return true
        }
        func field(_ key: String) -> LuaValue { call.rawFieldValue(1, key) }
        let arch = field("arch")
        if arch != .nil {
            guard let s = arch.text, let a = MachineConfig.Arch(rawValue: s) else {
                throw call.error("arch must be \"x86_32\" or \"x86_64\", got \(describe(arch))")
            }
            config.arch = a
        }
        let ram = field("ram")
        if ram != .nil {
            if let s = ram.text {
                config.ram = try MachineConfig.parseSize(s)
            } else if case .integer(let n) = ram, n > 0 {
                config.ram = UInt64(n)
            } else {
                throw call.error("ram must be a size such as \"1G\" or a byte count, got \(describe(ram))")
            }
        }
        let era = field("era")
        if era != .nil {
            guard let s = era.text, let e = MachineConfig.Era(rawValue: s) else {
                throw call.error("era must be \"6.x\" or \"2.6\", got \(describe(era))")
            }
            config.era = e
        }
        let seed = field("seed")
        if seed != .nil {
            guard case .integer(let n) = seed else {
                throw call.error("seed must be an integer, got \(describe(seed))")
            }
            config.seed = UInt64(bitPattern: n)
        }
        let fragmented = field("fragmented")
        if fragmented != .nil {
            guard case .boolean(let on) = fragmented else { throw call.error("fragmented must be a boolean, got \(describe(fragmented))") }
            config.fragmented = on
        }
        for (key, path) in [("tlb_entries", \MachineConfig.tlbEntries4K), ("tlb_entries_large", \MachineConfig.tlbEntriesLarge)] {
            let value = field(key)
            if value != .nil {
                guard case .integer(let v) = value, let n = Int(exactly: v) else {
                    throw call.error("\(key) must be an integer, got \(describe(value))")
                }
                config[keyPath: path] = n
            }
        }
        let cpus = field("cpus")
        if cpus != .nil {
            guard case .integer(let v) = cpus, let n = Int(exactly: v), n >= 1, n <= MachineConfig.maximumCPUs else {
                throw call.error("cpus must be an integer from 1 to \(MachineConfig.maximumCPUs), got \(describe(cpus))")
            }
            config.cpus = n
        }
        for (key, path) in [("failslab", \MachineConfig.failslab), ("fail_page_alloc", \MachineConfig.failPageAlloc)] {
            let value = field(key)
            if value != .nil {
                guard let s = value.text else {
                    throw call.error("\(key) must be a string \"<interval>,<probability>,<space>,<times>\" such as \"1,100,0,-1\", got \(describe(value))")
                }
                config[keyPath: path] = s
            }
        }
        if config.era == .v2_6 && (config.failslab != nil || config.failPageAlloc != nil) {
            throw call.error("failslab and fail_page_alloc need era \"6.x\" (fault injection arrived in 2.6.20; era \"2.6\" is 2.6.18)")
        }
        return config
    }

    /// An option's value in an error message: a string quoted, a number as
    /// itself, anything else its type.
    static func describe(_ value: LuaValue) -> String {
        if let s = value.text { return "\"\(s)\"" }
        return value.argumentDescription
    }
}

/// `boot{}` while a grader has refused it (see `KernelEnvironment.bootRefusal`).
struct BootRefused: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
