import Testing
import KernelSim
import LuaBridge
import KernelLua

/// Every memory API function called with nil, strings, floats (1.5, NaN,
/// inf), negative and huge integers, tables, booleans and functions in every
/// argument position: each call ends in a clean Lua error naming the
/// function (or the kernel's own report), never a crash of the host.
@Suite struct MemoryBadInputTests {
    /// The functions under test, read from the registry the `define` calls
    /// fill (`KernelEnvironment.docs`): every global function of these doc
    /// topics, so a new memory or machine function is swept as soon as it
    /// is defined.
    static let topics: Set<String> = ["Allocation", "Addresses and pages", "Memory contents", "Machine"]
    static let functions: [String] = {
        guard let lua = try? LuaState(profile: .sandbox) else { return [] }
        let env = KernelEnvironment(lua: lua)
        return env.docs.filter { name, doc in
            topics.contains(doc.topic) && !name.contains(".") && (doc.signature.hasPrefix(name + "(") || doc.signature.hasPrefix(name + "{"))
        }.keys.sorted()
    }()

    /// The registry still holds the functions this sweep was first written
    /// for (a topic renamed by mistake would silently shrink the sweep).
    @Test func theSweepCoversTheCoreMemoryAPI() {
        let core = ["kmalloc", "kfree", "vmalloc", "vfree", "alloc_pages", "__free_pages", "virt_to_page",
                    "kmap", "__pa", "memset", "peek", "poke", "cat", "proc", "stats", "boot"]
        #expect(Set(core).isSubset(of: Set(MemoryBadInputTests.functions)), "\(MemoryBadInputTests.functions)")
    }

    /// Lua that calls every function with one bad argument at a time and
    /// fails if an error names neither the function nor a kernel report.
    static func sweep(_ boot: String) -> String {
        let list = functions.map { "\"\($0)\"" }.joined(separator: ",")
        return """
            \(boot)
            local bads = {{"nil", nil}, {"string", "x"}, {"1.5", 1.5}, {"nan", 0/0}, {"inf", 1/0}, {"-inf", -1/0},
              {"-1", -1}, {"maxinteger", math.maxinteger}, {"mininteger", math.mininteger}, {"2^40", 1 << 40},
              {"table", {}}, {"true", true}, {"function", print}}
            local checked = 0
            for _, name in ipairs{\(list)} do
              local f = _G[name]
              assert(f, "missing " .. name)
              for pos = 1, 3 do
                for _, b in ipairs(bads) do
                  local p = kmalloc(64, GFP_KERNEL)
                  local pg = alloc_page(GFP_KERNEL)
                  local args = {p, 8, GFP_KERNEL}
                  if name:find("page") and not name:find("alloc") and not name:find("get_") and name ~= "free_page"
                     and name ~= "free_pages" and name ~= "virt_to_page" and name ~= "vmalloc_to_page" then
                    args = {pg, 0, 0}
                  end
                  if name == "alloc_pages" or name == "__get_free_pages" then args = {GFP_KERNEL, 0} end
                  if name == "memset" or name == "memcpy" or name == "memcmp" then args = {p, p, 8} end
                  if name == "boot" then args = {{}} end
                  args[pos] = b[2]
                  local ok, e = pcall(f, args[1], args[2], args[3])
                  if not ok then
                    local s = tostring(e)
                    local named = s:sub(1, #name + 1) == name .. ":"
                    local report = type(e) == "userdata" or s:find("BUG", 1, true) or s:find("fault", 1, true)
                    assert(named or report, name .. "(arg " .. pos .. " = " .. b[1] .. "): " .. s)
                  end
                  checked = checked + 1
                end
              end
            end
            return checked
            """
    }

    @Test(arguments: ["", "boot{arch=\"x86_64\", ram=\"1G\"}", "boot{era=\"2.6\", ram=\"128M\"}"])
    func everyFunctionRefusesBadArgumentsCleanly(boot: String) throws {
        let h = try KernelHarness()
        let r = h.run(MemoryBadInputTests.sweep(boot))
        switch r {
        case .success(let v): #expect(v.first == .integer(Int64(MemoryBadInputTests.functions.count * 3 * 13)))
        case .failure(let f): Issue.record("\(f.kind): \(f.message)")
        }
    }

    @Test func errorsNameFunctionAndArgument() throws {
        let h = try KernelHarness()
        let cases: [(String, String)] = [
            ("kmalloc('x', GFP_KERNEL)", "kmalloc: size must be a non-negative integer, got string"),
            ("kmalloc(-1, GFP_KERNEL)", "kmalloc: size must be a non-negative integer, got -1"),
            ("kmalloc(1.5, GFP_KERNEL)", "kmalloc: size must be a non-negative integer, got 1.5"),
            ("kmalloc(0/0, GFP_KERNEL)", "kmalloc: size must be a non-negative integer, got nan"),
            ("kmalloc(8, nil)", "kmalloc: flags must be a GFP flags integer such as GFP_KERNEL, got nil"),
            ("kmalloc(8, -1)", "kmalloc: flags must be a GFP flags integer such as GFP_KERNEL, got -1"),
            ("kcalloc(-1, 8, GFP_KERNEL)", "kcalloc: n must be a non-negative integer, got -1"),
            ("alloc_pages(GFP_KERNEL, 1/0)", "alloc_pages: order must be a non-negative integer, got inf"),
            ("__free_pages(5, 0)", "__free_pages: page must be a page (from alloc_pages, virt_to_page or pfn_to_page), got 5"),
            ("memset(kmalloc(8, GFP_KERNEL), 256, 8)", "memset: byte must be a byte (an integer 0..255), got 256"),
            ("peek({})", "peek: addr must be an address (an integer), got table"),
            ("virt_to_phys(1 << 40)", "virt_to_phys: address is not a 32-bit address: 0x10000000000"),
            ("pfn_to_page(-1)", "pfn_to_page: pfn must be a page frame number (a non-negative integer), got -1"),
        ]
        for (src, msg) in cases {
            #expect(h.errorMessage(src)?.hasSuffix(msg) == true, "\(src): \(h.errorMessage(src) ?? "no error")")
        }
    }

    @Test func hugeReadsEndInTheMemoryLimitNotACrash() throws {
        let h = try KernelHarness(limits: LuaLimits(maxInstructions: 0, maxMemory: 64 << 20))
        if case .failure(let f) = h.run("boot{arch='x86_64', ram='1G'}; local p = kmalloc(64, GFP_KERNEL); return peek(p, math.maxinteger)") {
            #expect(f.kind == .memoryLimit || f.message.contains("BUG") || f.message.contains("peek: n (9223372036854775807 bytes) exceeds the memory limit"), "\(f.message)")
        } else {
            Issue.record("peek(p, maxinteger) succeeded")
        }
    }
}
