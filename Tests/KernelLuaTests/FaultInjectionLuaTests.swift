import Testing
import KernelLua
import KernelSim
import LuaBridge

/// boot{failslab=...}, the debugfs files through cat/proc, and write().
@Suite struct FaultInjectionLuaTests {
    @Test func bootOptionAndWriteMakeAtomicKmallocFail() throws {
        let h = try KernelHarness()
        let v = h.values("""
            boot{failslab = "1,100,0,-1"}
            local before = kmalloc(64, GFP_ATOMIC)
            local ok, err = write("/sys/kernel/debug/failslab/times", "1")
            local first = kmalloc(64, GFP_ATOMIC)
            local second = kmalloc(64, GFP_ATOMIC)
            return before == nil, ok, err, first ~= nil, proc("/sys/kernel/debug/failslab/times")
            """)
        #expect(v == [.boolean(true), .boolean(true), .nil, .boolean(false), .string("0\n")])
        #expect(h.machine.log.text.contains("FAULT_INJECTION: forcing a failure."))
    }

    @Test func writeReturnsNilAndTheErrnoName() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local a, ea = write("/sys/kernel/debug/failslab/probability", "lots")
            local b, eb = write("/sys/kernel/debug/nonesuch", "1")
            local c, ec = write("/proc/meminfo", "1")
            local d = write("/sys/kernel/debug/fail_page_alloc/min-order", 0)
            return a, ea, b, eb, c, ec, d, proc("/sys/kernel/debug/fail_page_alloc/min-order")
            """)
        #expect(v == [.nil, .string("EINVAL"), .nil, .string("ENOENT"), .nil, .string("EACCES"),
                      .boolean(true), .string("0\n")])
    }

    @Test func badArgumentsAreClearErrors() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("write(1, 'x')")?.contains("write: path") == true)
        #expect(h.errorMessage("write('/sys/kernel/debug/failslab/times', {})")?.contains("text") == true)
        #expect(h.errorMessage("boot{failslab = 5}")?.contains("failslab must be a string") == true)
        #expect(h.errorMessage("boot{era = '2.6', fail_page_alloc = '1,1,1,1'}")?.contains("era") == true)
        #expect(h.errorMessage("boot{failslab = '1,100,0,-1'}") == nil)
    }

    @Test func sameScriptSameSeedSameFailures() throws {
        let script = """
            boot{seed = 3, failslab = "1,30,0,-1"}
            write("/sys/kernel/debug/failslab/verbose", "0")
            local s = {}
            for i = 1, 64 do
              local p = kmalloc(32, GFP_ATOMIC)
              s[#s + 1] = p and "." or "x"
              if p then kfree(p) end
            end
            return table.concat(s)
            """
        let a = try KernelHarness().values(script), b = try KernelHarness().values(script)
        #expect(a != nil && a == b)
        if case .string(let bytes)? = a?.first {
            let s = String(decoding: bytes, as: UTF8.self)
            #expect(s.contains("x") && s.contains("."))
        } else {
            Issue.record("no pattern: \(String(describing: a))")
        }
    }

    @Test func writeIsDocumented() throws {
        let lua = try LuaState(profile: .sandbox)
        let env = KernelEnvironment(lua: lua)
        #expect(env.helpText(for: "write")?.contains("EINVAL") == true)
    }
}
