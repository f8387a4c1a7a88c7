import ArgumentParser
import Foundation
import KernelLua
import LuaBridge

/// `kmlab bench`: the performance figures the issues ask for, measured in
/// one run. Build in release mode first (`swift build -c release`); each
/// figure is the median of several rounds.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kmlab's own costs (run a release build).",
        discussion: """
        Prints, each as the median of --rounds rounds of process CPU time: the cost of a kmalloc(64)+kfree
        pair called from Lua next to two calls of a trivial builtin (math.type) in the
        same loop, the same for kmem_cache_alloc+kmem_cache_free and mempool_alloc+mempool_free pairs, the same for an empty Swift function (the floor of every call), vmalloc(1 MiB)+vfree, a table of vmalloc(16 KiB)+vfree cost, IPIs and TLB shootdowns per 1,000 vfrees with 1, 2 and 8 CPUs, a plain Lua loop, and boot time and host RSS
        growth for 1 GiB, 8 GiB and 64 GiB x86_64 machines.
        With --scaling instead: the cost per operation of paths a script
        controls (slab frees that empty partial slabs, kmemleak's scan of
        referenced objects, small vmallocs) at 10^3 up to 10^6 operations, so
        that an algorithm slower than linear shows as a slope.
        """
    )

    @Option(help: "Rounds per figure (the median is printed).")
    var rounds: Int = 5

    @Option(help: "Only the benchmarks whose name contains this text.")
    var filter: String?

    @Flag(help: "Cost per operation at growing sizes instead (see above).")
    var scaling = false

    func validate() throws {
        guard rounds >= 1 && rounds <= 1000 else { throw ValidationError("--rounds must be between 1 and 1000") }
    }

    func run() throws {
        #if DEBUG
        Terminal.error("kmlab bench: this is a debug build; figures will be pessimistic (use swift build -c release)")
        #endif
        for bench in scaling ? Benchmarks.scaling : Benchmarks.all where filter.map({ bench.name.contains($0) }) ?? true {
            let line = try bench.measure(rounds)
            print(line)
            fflush(stdout)
        }
    }
}

/// One named benchmark: a Lua script run in a fresh kernel environment, with
/// `bench_clock()` (host process CPU time in nanoseconds) and `bench_rss()` (host RSS
/// bytes) available. The script returns the figures to print.
struct Benchmark {
    let name: String
    let script: String
    let format: ([[Double]]) -> String

    func measure(_ rounds: Int) throws -> String {
        var samples: [[Double]] = []
        for _ in 0..<rounds {
            // No budget and no count hook (a sampling window once an hour):
            // the figures are kmlab's own costs.
            let lua = try LuaState(profile: .trusted, limits: LuaLimits(
                maxInstructions: 0, maxMemory: 0, samplingPeriodMicroseconds: 3_600_000_000))
            let kernel = KernelEnvironment(lua: lua)
            // kmemleak's end-of-run scan, the script's globals as roots.
            lua.register("bench_leak_scan") { call in
                call.push(Int64(kernel.reportLeaks().count))
                return 1
            }
            lua.register("bench_clock") { call in
                // CPU time of the process, not wall time: on a shared machine
                // (CI, several builds at once) wall time measures the neighbours.
                var ts = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
                call.push(Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
                return 1
            }
            // The cheapest Swift function: what every call from Lua costs at least.
            lua.register("bench_nop") { _ in 0 }
            lua.register("bench_rss") { call in
                call.push(Int64(residentSetBytes()))
                return 1
            }
            switch lua.run(script, chunkName: "=bench:" + name) {
            case .success(let values):
                samples.append(values.map { v in
                    if case .number(let d) = v { return d }
                    return Double(v.integerValue ?? 0)
                })
            case .failure(let f):
                return "\(name): not available (\(f.message))"
            }
        }
        // Median per column.
        let columns = samples.first?.count ?? 0
        let medians = (0..<columns).map { c -> Double in
            let xs = samples.map { $0.count > c ? $0[c] : 0 }.sorted()
            return xs[xs.count / 2]
        }
        return format([medians])
    }
}

func residentSetBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    guard parts.count > 1, let pages = Int(parts[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

enum Benchmarks {
    static func f1(_ x: Double) -> String { String(format: "%.1f", x) }

    /// A loop body timed against two `math.type` calls. The two loops run in
    /// alternating blocks of 10,000 iterations, and the script returns the
    /// medians over the blocks (ns per iteration of each, and of the ratio
    /// block by block), so that a slow moment of a shared machine lands on
    /// both sides of the ratio, or on one block only.
    static func pairScript(setup: String, warmup: String, body: String) -> String {
        """
        local blocks, n = 21, 10000
        local mt = math.type
        \(setup)
        \(warmup)
        local pair, builtin, ratio = {}, {}, {}
        for b = 1, blocks do
          local t0 = bench_clock()
          for i = 1, n do \(body) end
          local t1 = bench_clock()
          for i = 1, n do local a = mt(i) local b = mt(i) end
          local t2 = bench_clock()
          pair[b], builtin[b], ratio[b] = (t1 - t0) / n, (t2 - t1) / n, (t1 - t0) / (t2 - t1)
        end
        local function median(xs) table.sort(xs) return xs[(#xs + 1) // 2] end
        return median(pair), median(builtin), median(ratio)
        """
    }

    static let all: [Benchmark] = [
        Benchmark(name: "lua-loop", script: """
            local n = 10000000
            local t0 = bench_clock()
            for i = 1, n do local x = i end
            return (bench_clock() - t0) / n
            """, format: { m in "lua-loop: \(f1(m[0][0])) ns per iteration of `for i=1,1e7 do local x = i end`" }),
        Benchmark(name: "kmalloc", script: pairScript(
            setup: "local K, kmalloc, kfree = GFP_KERNEL, kmalloc, kfree",
            warmup: "for i = 1, 1000 do kfree(kmalloc(64, K)) end",
            body: "local p = kmalloc(64, K) kfree(p)"), format: { m in
                "kmalloc: \(f1(m[0][0])) ns per kmalloc(64)+kfree pair from Lua; \(f1(m[0][1])) ns per two math.type calls; ratio \(String(format: "%.2f", m[0][2]))x (goal <= 3x)"
            }),
        Benchmark(name: "kmem_cache_alloc", script: pairScript(
            setup: "local K, alloc, free = GFP_KERNEL, kmem_cache_alloc, kmem_cache_free local c = kmem_cache_create(\"bench_obj\", 64, 0, 0, nil)",
            warmup: "for i = 1, 1000 do free(c, alloc(c, K)) end",
            body: "local p = alloc(c, K) free(c, p)"), format: { m in
                "kmem_cache_alloc: \(f1(m[0][0])) ns per kmem_cache_alloc+kmem_cache_free pair (64-byte cache) from Lua; \(f1(m[0][1])) ns per two math.type calls; ratio \(String(format: "%.2f", m[0][2]))x (goal: no slower than the kmalloc pair)"
            }),
        Benchmark(name: "mempool_alloc", script: pairScript(
            setup: "local K, alloc, free = GFP_KERNEL, mempool_alloc, mempool_free local pool = mempool_create_kmalloc_pool(16, 64)",
            warmup: "for i = 1, 1000 do free(alloc(pool, K), pool) end",
            body: "local p = alloc(pool, K) free(p, pool)"), format: { m in
                "mempool_alloc: \(f1(m[0][0])) ns per mempool_alloc+mempool_free pair (kmalloc pool of 64 bytes) from Lua; \(f1(m[0][1])) ns per two math.type calls; ratio \(String(format: "%.2f", m[0][2]))x (goal: no slower than the kmalloc pair)"
            }),
        Benchmark(name: "swift-call", script: pairScript(
            setup: "local nop = bench_nop", warmup: "", body: "nop(i) nop(i)"), format: { m in
                "swift-call: \(f1(m[0][0])) ns per two calls of an empty Swift function from Lua; \(f1(m[0][1])) ns per two math.type calls; ratio \(String(format: "%.2f", m[0][2]))x"
            }),
        Benchmark(name: "vmalloc", script: """
            local n = 200
            for i = 1, 5 do vfree(vmalloc(1 << 20)) end
            local t0 = bench_clock()
            for i = 1, n do vfree(vmalloc(1 << 20)) end
            return (bench_clock() - t0) / n / 1000
            """, format: { m in "vmalloc: \(f1(m[0][0])) us per vmalloc(1 MiB)+vfree pair" }),
        // vfree's cost as CPUs are added: the lazy purge batches the TLB
        // flush, so IPIs stay rare; the 1-CPU row is the reference.
        Benchmark(name: "vfree-smp", script: """
            local out = {}
            for _, cpus in ipairs({1, 2, 8}) do
              boot{arch = "x86_64", cpus = cpus}
              local n = 20000
              for i = 1, 100 do vfree(vmalloc(4 * PAGE_SIZE)) end
              local s0, k0 = stats(), ktime_get_ns()
              local t0 = bench_clock()
              for i = 1, n do vfree(vmalloc(4 * PAGE_SIZE)) end
              local t1 = bench_clock()
              local s1, k1 = stats(), ktime_get_ns()
              out[#out + 1] = (t1 - t0) / n / 1000
              out[#out + 1] = (k1 - k0) / n
              out[#out + 1] = (s1.ipis - s0.ipis) * 1000 / n
              out[#out + 1] = (s1.tlb_shootdowns - s0.tlb_shootdowns) * 1000 / n
            end
            return table.unpack(out)
            """, format: { m in
                let v = m[0]
                guard v.count >= 12, v[0] > 0 else { return "vfree-smp: not available" }
                var lines = ["vfree-smp: vmalloc(16 KiB)+vfree pairs on x86_64, 20,000 per CPU count (ratio: host time against the 1-CPU row of this run)",
                             "   cpus   host us/pair   ratio   simulated ns/pair   IPIs/1000 vfrees   shootdowns/1000 vfrees"]
                for (i, cpus) in [1, 2, 8].enumerated() {
                    let host = v[i * 4], sim = v[i * 4 + 1], ipis = v[i * 4 + 2], shoot = v[i * 4 + 3]
                    lines.append(String(format: "   %4d   %12.2f   %4.2fx   %17.0f   %16.2f   %22.2f",
                                        cpus, host, host / v[0], sim, ipis, shoot))
                }
                return lines.joined(separator: "\n")
            }),
        Benchmark(name: "boot", script: """
            local out = {}
            for _, ram in ipairs({"1G", "8G", "64G"}) do
              collectgarbage() collectgarbage()
              local r0 = bench_rss()
              local t0 = bench_clock()
              boot{arch = "x86_64", ram = ram}
              local t1 = bench_clock()
              out[#out + 1] = (t1 - t0) / 1e6
              out[#out + 1] = (bench_rss() - r0) / 1048576
            end
            return table.unpack(out)
            """, format: { m in
                let v = m[0]
                guard v.count >= 6 else { return "boot: not available" }
                return "boot (x86_64): 1G \(String(format: "%.2f", v[0])) ms, +\(f1(v[1])) MiB RSS; 8G \(String(format: "%.2f", v[2])) ms, +\(f1(v[3])) MiB; 64G \(String(format: "%.2f", v[4])) ms, +\(f1(v[5])) MiB (goal < 20 ms, < 32 MiB, flat)"
            }),
    ]

    /// `--scaling`: each returns ns per operation at each size in `sizes`.
    static func scalingScript(sizes: [Int], ram: String, setup: String, body: String) -> String {
        """
        local out = {}
        for _, n in ipairs({\(sizes.map(String.init).joined(separator: ", "))}) do
          boot{ arch = "x86_64", ram = "\(ram)" }
          collectgarbage()
          \(setup)
          local t0 = bench_clock()
          \(body)
          out[#out + 1] = (bench_clock() - t0) / n
        end
        return table.unpack(out)
        """
    }

    static func perSize(_ name: String, _ what: String, _ sizes: [Int]) -> ([[Double]]) -> String {
        { m in
            let cells = zip(sizes, m[0]).map { n, ns in "n=\(n) \(f1(ns)) ns" }
            return "\(name): \(what): " + cells.joined(separator: "; ")
        }
    }

    static let bigSizes = [1_000, 10_000, 100_000, 1_000_000]
    static let vmallocSizes = [1_000, 10_000, 60_000]
    static let leakSizes = [1_000, 10_000, 100_000]

    static let scaling: [Benchmark] = [
        // Every other object freed first leaves each slab partial; freeing
        // the rest then empties them one by one (each leaves the partial list).
        Benchmark(name: "slab-free", script: scalingScript(sizes: bigSizes, ram: "4G", setup: """
            local p = {}
            for i = 1, n do p[i] = kmalloc(64, GFP_KERNEL) end
            for i = 1, n, 2 do kfree(p[i]) end
            """, body: "for i = 2, n, 2 do kfree(p[i]) end  n = n // 2"),
                  format: perSize("slab-free", "per kfree that may empty a partial slab", bigSizes)),
        // Objects that globals still point to: none is a leak, each is looked up.
        Benchmark(name: "kmemleak-referenced", script: scalingScript(sizes: bigSizes, ram: "4G", setup: """
            bench_held = {}
            for i = 1, n do bench_held[i] = kmalloc(64, GFP_KERNEL) end
            """, body: "bench_leak_scan()"),
                  format: perSize("kmemleak-referenced", "per object of the end-of-run scan", bigSizes)),
        // Objects nothing points to: each becomes a report in the log.
        Benchmark(name: "kmemleak-leaked", script: scalingScript(sizes: leakSizes, ram: "4G", setup: """
            do
              local p = {}
              for i = 1, n do p[i] = kmalloc(64, GFP_KERNEL) end
            end
            collectgarbage()
            """, body: "bench_leak_scan()"),
                  format: perSize("kmemleak-leaked", "per leaked object reported", leakSizes)),
        Benchmark(name: "vmalloc-small", script: scalingScript(sizes: vmallocSizes, ram: "4G", setup: "local p = {}", body: """
            for i = 1, n do p[i] = vmalloc(64) end
            """), format: perSize("vmalloc-small", "per vmalloc(64) with that many areas live", vmallocSizes)),
    ]
}
