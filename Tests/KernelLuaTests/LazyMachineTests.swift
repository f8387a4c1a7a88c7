@testable import KernelLua
import LuaBridge
import KernelSim
import Testing

/// The default machine boots when first needed (a grading state whose task
/// boots its own machine never pays for it); nothing a script sees changes.
@Suite struct LazyDefaultMachineTests {
    @Test func installingTheAPIBootsNoMachine() throws {
        let h = try KernelHarness()
        #expect(!h.env.hasMachine)
        // The constants come from the default layout before any boot.
        h.check("assert(PAGE_OFFSET == 0xC0000000 and DMA_MAPPING_ERROR == 0xffffffff)")
        #expect(!h.env.hasMachine)
    }

    @Test func theFirstUseBootsTheStandardMachine() throws {
        let lazy = try KernelHarness()
        let eager = try KernelHarness()
        _ = eager.machine
        #expect(eager.env.hasMachine)
        let script = "local p = kmalloc(100, GFP_KERNEL); return p, __pa(p), virt_to_pfn and 0 or 1, cat('/proc/buddyinfo')"
        #expect(lazy.values(script) == eager.values(script))
        #expect(lazy.env.hasMachine)
        #expect(lazy.machine.config == MachineConfig.standard)
    }

    @Test func aBootBeforeAnyUseSkipsTheDefaultMachine() throws {
        let h = try KernelHarness()
        h.check("boot{arch='x86_64', ram='2G'}; assert(PAGE_OFFSET == -0x778000000000)")
        #expect(h.machine.config.arch == .x86_64)
    }
}

/// A grading state's environment records no docs while it installs the API
/// (`documented: false`); asked for them, it builds the same ones.
@Suite struct UndocumentedEnvironmentTests {
    @Test func docsAskedOfAnUndocumentedEnvironmentAreTheUsualOnes() throws {
        let plain = try KernelHarness()
        let lua = try LuaState(profile: .sandbox, limits: .runDefault)
        defer { lua.close() }
        let quiet = KernelEnvironment(lua: lua, documented: false)
        #expect(Set(quiet.docs.keys) == Set(plain.env.docs.keys))
        #expect(quiet.helpText(for: "kmalloc") == plain.env.helpText(for: "kmalloc"))
    }

    @Test func theConstantsDocsFollowTheBootedMachine() throws {
        let lua = try LuaState(profile: .sandbox, limits: .runDefault)
        defer { lua.close() }
        let quiet = KernelEnvironment(lua: lua, documented: false)
        let before = try #require(quiet.docs["PAGE_OFFSET"]).signature
        quiet.adopt(try Machine(config: MachineConfig(arch: .x86_64, ram: 2 << 30)))
        let after = try #require(quiet.docs["PAGE_OFFSET"]).signature
        #expect(before.contains("0xc0000000") && after.contains("0xffff888000000000"), "\(before) / \(after)")
    }
}

extension UndocumentedEnvironmentTests {
    @Test func helpInALoopBuildsTheDocsOnce() throws {
        let lua = try LuaState(profile: .sandbox, limits: .runDefault)
        defer { lua.close() }
        let quiet = KernelEnvironment(lua: lua, documented: false)
        if case .failure(let f) = lua.run("for i = 1, 200 do help('kmalloc') end") { Issue.record("\(f.message)") }
        #expect(quiet.docs["kmalloc"] != nil)
        #expect(quiet.docsBuilds == 1)
        quiet.adopt(try Machine(config: MachineConfig(arch: .x86_64, ram: 2 << 30)))
        #expect(quiet.docs["kmalloc"] != nil && quiet.docsBuilds == 2)
    }
}

@Suite struct BootBudgetTests {
    @Test func bootingInALoopRunsOutOfInstructions() throws {
        let h = try KernelHarness(limits: LuaLimits(maxInstructions: 1_000_000, maxMemory: 64 << 20))
        let failure = h.errorMessage("for i = 1, 1000 do boot{} end")
        #expect(failure?.contains("instruction limit exceeded") == true, "\(failure ?? "no failure")")
        // A few boots are well within any budget.
        let ok = try KernelHarness(limits: LuaLimits(maxInstructions: 1_000_000, maxMemory: 64 << 20))
        #expect(ok.errorMessage("for i = 1, 10 do boot{} end") == nil)
    }
}
