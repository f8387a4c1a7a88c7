import Testing
@testable import KernelSim

/// Address-space layouts (arch/x86/include/asm/pgtable_32_areas.h,
/// Documentation/arch/x86/x86_64/mm.rst), zones, __pa and the
/// CONFIG_DEBUG_VIRTUAL checks of arch/x86/mm/physaddr.c, boot arguments.
@Suite struct MemoryLayoutTests {
    /// 6.12's arch/x86/include/asm/pgtable_32_areas.h: the CPU entry area
    /// and the LDT remap sit below the fixmap, PKMAP_BASE is 0xff000000, and
    /// MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE ends lowmem at
    /// 0x36ffe000 (879 MiB), not 896 MiB.
    @Test func x86_32With1GiBOn612HasLowmemUpTo879MiB_pgtable32Areas() throws {
        let m = try testMachine()
        let l = m.layout
        #expect(l.pageOffset == 0xC000_0000)
        #expect(l.pkmapBase == 0xFF00_0000)
        #expect(l.vmallocEnd == 0xFEFF_E000)    // PKMAP_BASE - 2 * PAGE_SIZE
        #expect(l.maxLowPfn == 0x36FFE)
        #expect(l.highMemory == 0xF6FF_E000)
        #expect(l.vmallocStart == 0xF77F_E000)  // high_memory + VMALLOC_OFFSET (8 MiB)
        #expect(l.zones.map { $0.type } .prefix(3) == [.dma, .normal, .highmem])
        #expect(l.zones[0].start == 0 && l.zones[0].end == 0x1000)
        #expect(l.zones[1].start == 0x1000 && l.zones[1].end == 0x36FFE)
        #expect(l.zones[2].start == 0x36FFE && l.zones[2].end == 0x40000)
        #expect(try m.pa(0xC000_1234) == 0x1234)
        #expect(m.va(0x1234) == 0xC000_1234)
        #expect(l.constants.contains { $0.name == "MAX_PAGE_ORDER" && $0.value == 10 })
        #expect(m.checkInvariants() == [])
    }

    /// 2.6.18: MAXMEM = -PAGE_OFFSET - __VMALLOC_RESERVE, exactly 896 MiB.
    @Test func x86_32With1GiBOn2618Has896MiBLowmem() throws {
        let m = try testMachine(era: .v2_6)
        let l = m.layout
        #expect(l.maxLowPfn == 0x38000)
        #expect(l.highMemory == 0xF800_0000)
        #expect(l.vmallocStart == 0xF880_0000)
        #expect(l.vmallocEnd == 0xFF7F_E000)
        #expect(l.pkmapBase == 0xFF80_0000)
        #expect(l.zones[1].start == 0x1000 && l.zones[1].end == 0x38000)
        #expect(l.zones[2].start == 0x38000 && l.zones[2].end == 0x40000)
    }

    @Test func x86_32WithLittleRAMHasNoHighmem() throws {
        let m = try testMachine(ram: 512 << 20)
        #expect(m.layout.maxLowPfn == 0x20000)
        #expect(m.layout.vmallocStart == 0xE080_0000)
        #expect(m.zone(named: "HighMem")?.populated == false)
        #expect(!(try m.proc("/proc/buddyinfo")).contains("HighMem"))
        #expect(try m.proc("/proc/meminfo").contains("HighTotal:             0 kB"))
    }

    @Test func x86_64LayoutMatchesMmRst() throws {
        let m = try testMachine(.x86_64, ram: 8 << 30)
        let l = m.layout
        #expect(l.pageOffset == 0xFFFF_8880_0000_0000)
        #expect(l.vmallocStart == 0xFFFF_C900_0000_0000)
        #expect(l.vmallocEnd == 0xFFFF_E8FF_FFFF_FFFF)
        #expect(l.zones.map { $0.type }.prefix(3) == [.dma, .dma32, .normal])
        #expect(l.zones[0].end == 4096)
        #expect(l.zones[1].end == (4 << 30) >> 12)
        #expect(l.zones[2].end == (8 << 30) >> 12)
        #expect(try m.pa(0xFFFF_8880_0000_1234) == 0x1234)
        #expect(try m.pa(0xFFFF_8882_0000_0000) == 0x2_0000_0000)
        #expect(m.va(0x1234) == 0xFFFF_8880_0000_1234)
        #expect(!(try m.proc("/proc/meminfo")).contains("HighTotal"))
        #expect(try m.proc("/proc/meminfo").contains("VmallocTotal:   34359738367 kB"))
    }

    @Test func era26UsesMaxOrderElevenAndSmallKmallocLimit() throws {
        let m = try testMachine(era: .v2_6)
        #expect(m.layout.constants.contains { $0.name == "MAX_ORDER" && $0.value == 11 })
        #expect(!m.layout.constants.contains { $0.name == "MAX_PAGE_ORDER" })
        #expect(m.layout.kmallocMaxCacheSize == 131072)
    }

    @Test func paOfAVmallocAddressIsTheDebugVirtualBug() throws {
        let m = try testMachine()
        let v = try #require(try m.vmalloc(8192))
        #expect(m.isVmallocAddr(v))
        #expect(!m.virtAddrValid(v))
        let e = try #require(throws: KernelOops.self) { try m.pa(v) }
        #expect(e.report.kind == .debugVirtual)
        // arch/x86/mm/physaddr.c: VIRTUAL_BUG_ON(__vmalloc_start_set && is_vmalloc_addr((void *) x)) is line 77.
        #expect(e.report.lines.contains("kernel BUG at arch/x86/mm/physaddr.c:77!"))
        let low = try #require(throws: KernelOops.self) { try m.pa(0x1000) }
        #expect(low.report.lines.contains("kernel BUG at arch/x86/mm/physaddr.c:76!"))

        let m64 = try testMachine(.x86_64, ram: 1 << 30)
        let v64 = try #require(try m64.vmalloc(8192))
        let e64 = try #require(throws: KernelOops.self) { try m64.pa(v64) }
        #expect(e64.report.lines.contains("kernel BUG at arch/x86/mm/physaddr.c:28!"))
    }

    @Test func virtAddrValidAndIsVmallocAddr() throws {
        let m = try testMachine()
        #expect(m.virtAddrValid(0xC000_0000))
        #expect(m.virtAddrValid(0xF6FF_D000))
        // Past high_memory but below VMALLOC_START, x86_32's __virt_addr_valid()
        // only asks pfn_valid(): a highmem pfn is valid (arch/x86/mm/physaddr.c).
        #expect(m.virtAddrValid(0xF6FF_E000))
        #expect(!m.virtAddrValid(0xBFFF_FFFF))
        #expect(!m.virtAddrValid(0xF77F_E000))
        #expect(!m.virtAddrValid(0xFFFF_0000))  // fixmap
        #expect(m.isVmallocAddr(0xF77F_E000) && !m.isVmallocAddr(0xF700_0000) && !m.isVmallocAddr(0xFEFF_E000))
    }

    @Test func highmemPagesHaveNoAddressUntilKmapped() throws {
        let m = try testMachine()
        let page = try #require(try m.allocPages(.highuser, order: 0))
        #expect(m.pageHighMem(page))
        #expect(m.pageAddress(page) == nil)
        let k = try m.kmap(page)
        #expect(k >= m.layout.pkmapBase && k < m.layout.pkmapBase + 1024 * 4096)
        #expect(m.pageAddress(page) == k)
        try m.write(k, bytes: [1, 2, 3])
        #expect(try m.readPhysical(m.pageToPhys(page), count: 3) == [1, 2, 3])
        try m.kunmap(page)
        let low = try #require(try m.allocPages(.kernel, order: 0))
        #expect(m.pageAddress(low) == m.layout.pageOffset + (low.pfn << 12))
    }

    @Test func badRamSizesAreBootErrors() throws {
        #expect(throws: BootError.self) { try testMachine(ram: 16 << 20) }
        #expect(throws: BootError.self) { try testMachine(ram: 8 << 30) }
        #expect(throws: BootError.self) { try testMachine(.x86_64, ram: 2 << 40) }
        #expect(throws: BootError.self) { try MachineConfig.parseSize("3X") }
        #expect(throws: BootError.self) { try MachineConfig.parseSize("") }
        #expect(throws: BootError.self) { try MachineConfig.parseSize("99999999999999T") }
        #expect(try MachineConfig.parseSize("64GiB") == 64 << 30)
        #expect(try MachineConfig.parseSize("512M") == 512 << 20)
    }

    @Test func sameSeedSameAddressesAndSameProcText() throws {
        func run(_ seed: UInt64) throws -> [String] {
            let m = try testMachine(seed: seed, fragmented: true)
            var out: [String] = []
            for s in [100, 5000, 20000] { out.append(String(try m.kmalloc(s, .kernel) ?? 0)) }
            out.append(String(try m.vmalloc(100_000) ?? 0))
            out.append(String(try m.allocPages(.highuser, order: 2)?.pfn ?? 0))
            let bytes = try m.read(try #require(try m.kmalloc(64, .kernel)), count: 16)
            out.append(bytes.map(String.init).joined(separator: ","))
            for p in ["/proc/buddyinfo", "/proc/meminfo", "/proc/zoneinfo", "/proc/slabinfo", "/proc/vmallocinfo"] {
                out.append(try m.proc(p))
            }
            out.append(m.log.text)
            return out
        }
        #expect(try run(42) == run(42))
        #expect(try run(42) != run(43))
    }

    @Test func unknownProcPathNamesTheKnownOnes() throws {
        let m = try testMachine()
        let e = try #require(throws: ProcError.self) { try m.proc("/proc/nope") }
        #expect(e.description.contains("/proc/nope"))
        // The known files are grouped by directory: /proc/{buddyinfo,meminfo,...}.
        #expect(e.description.contains("(known: /proc/{"))
        for p in ["meminfo", "buddyinfo", "slabinfo", "vmallocinfo", "zoneinfo"] {
            #expect(e.description.contains(p))
        }
    }
}

/// Boot messages are formatted once per configuration and process, then
/// replayed: what a machine logs must not depend on which booted first.
@Suite struct BootMessageCacheTests {
    private func bootLog(_ config: MachineConfig) throws -> [String] {
        try Machine(config: config).log.lines.filter { $0.hasPrefix("[    0.000000]") }
    }

    @Test func aReplayedBootLogIsTheFormattedOne() throws {
        let config = MachineConfig(arch: .x86_64, ram: 3 << 30, seed: 41)
        let first = try bootLog(config)
        let second = try bootLog(config)
        #expect(first == second)
        #expect(first.contains { $0.contains("BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable") }, "\(first)")
    }

    @Test func eachConfigurationHasItsOwnLog() throws {
        let small = try bootLog(MachineConfig(arch: .x86_32, ram: 512 << 20))
        let large = try bootLog(MachineConfig(arch: .x86_32, ram: 2 << 30))
        #expect(small != large)
        #expect(small.contains { $0.contains("512MB LOWMEM available.") })
        #expect(large.contains { $0.contains("HIGHMEM available.") })
    }
}
