import KernelLua
import KernelSim
import LuaBridge
import Testing

/// help(), its texts, and the rule that every name a learner can call is documented.
@Suite struct HelpTests {
    /// The memory and machine names of ../shared/DESIGN.md's API. (Context,
    /// syscall and DMA names are covered by `everyInstalledNameIsDocumented`
    /// as they are installed.)
    static let designNames = """
        kmalloc kzalloc kcalloc kmalloc_array krealloc kfree ksize vmalloc vzalloc vfree kvmalloc kvfree
        alloc_pages alloc_page __free_pages __get_free_pages get_zeroed_page free_pages free_page
        PAGE_SIZE PAGE_SHIFT PAGE_OFFSET KMALLOC_MAX_SIZE KMALLOC_MAX_CACHE_SIZE VMALLOC_START VMALLOC_END
        GFP_KERNEL GFP_ATOMIC GFP_NOWAIT GFP_NOIO GFP_NOFS GFP_USER GFP_HIGHUSER GFP_HIGHUSER_MOVABLE GFP_DMA GFP_DMA32
        __GFP_HIGHMEM __GFP_ZERO __GFP_NOWARN __GFP_NOFAIL __GFP_NORETRY __GFP_RETRY_MAYFAIL __GFP_DIRECT_RECLAIM
        __pa __va virt_to_phys phys_to_virt virt_to_page vmalloc_to_page vmalloc_to_pfn page_to_pfn pfn_to_page
        page_to_phys page_address kmap kunmap kmap_local_page kunmap_local PageHighMem page_zonenum page_zone
        is_vmalloc_addr virt_addr_valid memset memcpy memcmp peek poke
        boot cat proc dmesg stats ktime_get_ns memmap buddyinfo help
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// Lua's own globals, which kmlab does not document.
    static let luaGlobals: Set<String> = ["assert", "collectgarbage", "dofile", "error", "getmetatable", "ipairs",
        "load", "loadfile", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require",
        "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "warn", "_G", "_VERSION", "string",
        "table", "math", "utf8", "coroutine", "os", "io", "debug", "package", "arg"]

    @Test func everyDesignNameHasADoc() throws {
        let h = try KernelHarness()
        let missing = HelpTests.designNames.filter { h.env.docs[$0] == nil }
        #expect(missing.isEmpty, "undocumented: \(missing)")
        #expect(h.env.docs["MAX_ORDER"] != nil || h.env.docs["MAX_PAGE_ORDER"] != nil)
    }

    @Test func everyInstalledNameIsDocumented() throws {
        let h = try KernelHarness(profile: .trusted)
        let values = try #require(h.values("""
            local names = {}
            for k, v in pairs(_G) do
              if type(v) == "table" and type(k) == "string" then
                for f, fv in pairs(v) do
                  if type(fv) == "function" and type(f) == "string" then names[#names + 1] = k .. "." .. f end
                end
              end
              if type(v) == "function" or type(v) == "number" then names[#names + 1] = k end
            end
            return names
            """))
        guard case .table(let entries) = try #require(values.first) else { Issue.record("not a table"); return }
        let names = entries.compactMap { $0.value.text }
        let libraries = HelpTests.luaGlobals
        // Functions and numbers at the top level, functions in tables (`user.malloc`).
        let missing = names.filter { name in
            let root = String(name.split(separator: ".").first ?? "")
            return !libraries.contains(root) && h.env.docs[name] == nil
        }
        #expect(missing.isEmpty, "undocumented globals: \(missing.sorted())")
        #expect(names.contains("kmalloc") && names.contains("GFP_KERNEL"))
    }

    @Test func helpListsByTopicAndExplainsAName() throws {
        let h = try KernelHarness()
        h.run("help()")
        #expect(h.printed.contains("Allocation:\n"))
        #expect(h.printed.contains("GFP flags:\n"))
        #expect(h.printed.contains(" kmalloc "))
        let h2 = try KernelHarness()
        h2.run("help(kmalloc) help 'GFP_ATOMIC' help(memmap)")
        #expect(h2.printed.contains("kmalloc\n=======\nkmalloc(size, flags) -> address | nil"))
        #expect(h2.printed.contains("Kernel: include/linux/slab.h kmalloc()"))
        #expect(h2.printed.contains("GFP_ATOMIC = 0x820"))
        #expect(h2.printed.contains("memmap([{svg="))
    }

    @Test func unknownNamesGetSuggestions() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("help 'GFP_ATOMC'")?.contains("did you mean GFP_ATOMIC") == true)
        #expect(h.errorMessage("help(print)")?.contains("no documentation for a function value") == true)
        #expect(h.env.suggestions(for: "vmaloc").first == "vmalloc")
        #expect(h.env.suggestions(for: "zzzzzzzzzz").isEmpty)
    }

    @Test func memmapRefusesSvgInTheSandbox() throws {
        let h = try KernelHarness()
        #expect(h.errorMessage("memmap{svg='x.svg'}")?.contains("memmap: svg= writes a file, which the sandbox does not allow") == true)
        #expect(h.errorMessage("memmap{columns=3}")?.contains("columns must be an integer from 8 to 512") == true)
        #expect(h.errorMessage("memmap(5)")?.contains("memmap: options must be a table, got 5") == true)
        h.run("memmap{columns=32} buddyinfo()")
        #expect(h.printed.contains("Physical memory: 1 GiB"))
        #expect(h.printed.contains("zone Normal"))
        #expect(!h.printed.contains("\u{1B}"))
    }
}
