import Foundation
import Testing

/// The fuzzer is part of the suite: a few hundred generated kernel-API
/// scripts through `kmlab run` and `kmlab check`, none of which may end by
/// a signal, hang, hold memory past its budget, or print differently on a
/// second run. `make fuzz SEED=... COUNT=...` runs as many as you like.
@Suite struct FuzzTests {
    /// (The timeout is generous: an interrupt storm runs to the watchdog's
    /// 250,000 deliveries, some 20 s of a debug build's CPU, more on a
    /// loaded machine; a true hang never ends.)
    @Test func generatedScriptsNeitherCrashNorHangNorVary() throws {
        let scratch = try ScratchDirectory()
        let crashes = scratch.url.appendingPathComponent("crashes").path
        let r = try KmlabProcess.run(["fuzz", "--seed", "20261207", "--count", "200", "--repeat-every", "8",
                                      "--timeout", "180", "--out", crashes])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("200 cases (225 runs of kmlab), 0 failures"), "\(r.stdout)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []
        for f in files {
            Issue.record("reproducer \(f):\n\((try? String(contentsOfFile: crashes + "/" + f, encoding: .utf8)) ?? "")")
        }
    }

    /// The same seed writes the same scripts; the minimiser keeps a failure.
    @Test func aFailureIsMinimisedToAReproducer() throws {
        let scratch = try ScratchDirectory()
        // A stand-in binary that "crashes" whenever a script makes a
        // protected call: the minimiser must keep one statement that does.
        let fake = try scratch.write("fake-kmlab", """
        #!/bin/sh
        for last; do :; done
        if grep -q 'keep(pcall' "$last"; then kill -SEGV $$; fi
        exit 0
        """)
        chmod(fake, 0o755)
        let crashes = scratch.url.appendingPathComponent("crashes").path
        let r = try KmlabProcess.run(["fuzz", "--seed", "3", "--count", "4", "--repeat-every", "100", "--kmlab", fake,
                                      "--out", crashes])
        #expect(r.status == 1)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []
        #expect(!files.isEmpty, "\(r.stdout)")
        for f in files {
            #expect(f.hasPrefix("signal11-seed3-case"))
            let text = try String(contentsOfFile: crashes + "/" + f, encoding: .utf8)
            let statements = text.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.isEmpty }
            // The prologue (6 lines) and the one statement that still fails.
            #expect(statements.count == 7, "\(text)")
            #expect(statements.last?.contains("keep(pcall") == true, "\(text)")
            #expect(text.contains("-- reproduce: kmlab run"))
        }
    }

    /// The generator writes the ingredients of every class of host bug
    /// kmlab has had, so it cannot silently weaken: the 200 scripts the
    /// suite's fuzz run uses (same seed) contain each of them several times.
    @Test func generatedScriptsContainEveryBugClassIngredient() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.url.appendingPathComponent("scripts").path
        let r = try KmlabProcess.run(["fuzz", "--seed", "20261207", "--count", "200", "--emit", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count == 200)
        let text = try files.map { try String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
        // class -> ingredient -> a pattern of it in the scripts
        let classes: [(String, [(String, String)])] = [
            ("interrupt storms", [
                ("a handler raising its own line", #"request_irq, (\d+), function\(\) pcall\(raise_irq, \1\)"#),
                ("two handlers raising each other's lines",
                 #"request_irq, (\d+), function\(\) pcall\(raise_irq, (\d+)\)[^\n]*request_irq, \2, function\(\) pcall\(raise_irq, \1\)"#),
                ("a storm under spin_lock_irqsave", #"spin_lock_irqsave, l\) keep\(pcall\(request_irq, (\d+), function\(\) pcall\(raise_irq"#),
            ]),
            ("scribbled kernel memory", [
                ("memset over the boot page tables", #"pcall\(memset, PAGE_OFFSET \+ \(\(\d+ << 20\) - \d+ \* PAGE_SIZE\)"#),
                ("memcpy over reserved frames", #"pcall\(memcpy, PAGE_OFFSET"#),
                ("poke into the boot page tables", #"pcall\(poke, PAGE_OFFSET \+ \(\(\d+ << 20\)"#),
            ]),
            ("huge lengths", [
                ("memset", #"pcall\(memset, [^\n]*, 0, (math.maxinteger|1 << 62|1 << 40)\)"#),
                ("memcpy", #"pcall\(memcpy, [^\n]*(math.maxinteger|1 << 62|1 << 40)\)"#),
                ("memcmp", #"pcall\(memcmp, [^\n]*(math.maxinteger|1 << 62|1 << 40)\)"#),
            ]),
            ("C library bombs", [
                ("string.rep of nothing, maxinteger times", #"pcall\(string.rep, "", math.maxinteger"#),
                ("table.move over a huge empty range", #"pcall\(table.move, \{\}, 1, math.maxinteger"#),
                ("a backtracking pattern", #"string.rep\("a\?", 60\)|\(x\*\)\*y|string.rep\("a-", 40\)"#),
                ("a lying __len", #"__len = function\(\) return (1 << 40|math.maxinteger - 1|1 << 30)"#),
            ]),
            ("report floods", [
                ("thousands of double frees", #"pcall\(kfree, p\) for i = 1, \d{4,} do pcall\(kfree, p\)"#),
                ("150,000 of them", #"for i = 1, 150000 do pcall\(v?free"#),
            ]),
            ("boot{} anywhere", [
                ("odd options", #"pcall\(boot, \{[^}]*(ram = "0"|ram = -1|ram = "1T"|seed = 0/0|era = "9"|arch = 1)"#),
                ("from a tasklet", #"tasklet_schedule, function\(\) pcall\(boot"#),
                ("from a work item", #"schedule_work, function\(\) pcall\(boot"#),
                ("from an interrupt handler", #"request_irq, \d+, function\(\) pcall\(boot"#),
                ("from a syscall", #"SYSCALL_DEFINE, "reboot", function\(\) pcall\(boot"#),
            ]),
            ("what a script observes", [
                ("pairs over library functions and objects", #"\[print\] = 1, \[string.len\] = 2, \[\{\}\] = 3[^\n]*pairs\(t\)"#),
                ("next over library functions", #"repeat k = next\(t, k\)"#),
                ("%p and tostring of objects", #"string.format\("%p %p"#),
                ("collectgarbage and os.clock", #"collectgarbage\("count"\), os.clock\(\)"#),
            ]),
            ("contexts", [
                ("interrupt handlers", #"request_irq, "#), ("tasklets", #"tasklet_schedule, function"#),
                ("work items", #"schedule_work, function"#), ("syscalls", #"SYSCALL_DEFINE, "#),
                ("spin_lock_irqsave", #"spin_lock_irqsave"#), ("irqs off", #"local_irq_disable"#),
                ("bottom halves off", #"local_bh_disable"#), ("spin_lock_bh", #"spin_lock_bh"#),
            ]),
            ("odd addresses and values", [
                ("a freed kmalloc pointer", #"pcall\(kfree, p\) V\[#V \+ 1\] = p"#),
                ("a freed vmalloc pointer", #"pcall\(vfree, p\) V\[#V \+ 1\] = p"#),
                ("a user address", #"user.malloc"#), ("a physical address", #"virt_to_phys|__pa"#),
                ("a foreign address", #"0xdeadbe"#), ("NaN", #"0/0"#), ("the minimum integer", #"math.mininteger"#),
                ("a table with metatable", #"setmetatable\(\{\}, \{__index"#), ("wrong types", #"coroutine.create"#),
            ]),
        ]
        for (name, ingredients) in classes {
            for (what, pattern) in ingredients {
                let re = try NSRegularExpression(pattern: pattern)
                let n = re.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
                #expect(n >= 3, "\(name): \(what) appears \(n) times in 200 scripts (pattern \(pattern))")
            }
        }
    }
}
