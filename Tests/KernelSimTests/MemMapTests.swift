import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import KernelSim
import Testing
import SeededRandom

/// The memory pictures' model and renderers (KernelSim/Views).
@Suite struct MemMapTests {
    @Test func theGridCoversEveryFrameZoneByZone() throws {
        let m = Machine()
        let map = m.memoryMap()
        let counted = map.frameCounts.values.reduce(0, +)
        #expect(counted == map.totalPages)
        #expect(map.rows.filter(\.startsZone).map(\.zone) == ["DMA", "Normal", "HighMem"])
        // Rows follow each other without gaps; a zone's last cell may be
        // partial (6.12's lowmem ends at pfn 0x36ffe, off a cell boundary).
        var next: UInt64 = 0
        for row in map.rows {
            #expect(row.firstPfn == next)
            let zoneEnd = m.zones.first { $0.name == row.zone }?.end ?? .max
            next = min(row.firstPfn + UInt64(row.cells.count) * map.framesPerCell, zoneEnd)
        }
        #expect(next >= map.totalPages)
        #expect(map.rows.allSatisfy { $0.cells.count <= map.columns })
    }

    @Test func vmallocPagesAreCountedAndListedInVirtualOrder() throws {
        let m = Machine()
        let before = m.memoryMap().frameCounts[.vmalloc] ?? 0
        let p = try #require(try m.vmalloc(7 * 4096))
        let map = m.memoryMap()
        #expect((map.frameCounts[.vmalloc] ?? 0) == before + 7)
        let area = try #require(map.vmallocAreas.first { $0.start == p })
        #expect(area.pfns.count == 7)
        for (i, pfn) in area.pfns.enumerated() {
            #expect(m.pageInfo(pfn: pfn)?.owner == "vmalloc")
            #expect(try m.vmallocToPfn(p + UInt64(i) * 4096) == pfn)
            #expect(map.cellPosition(ofPfn: pfn) != nil)
        }
    }

    @Test func aCellShowsItsMainOwnerAndWhetherItHoldsHalf() {
        var counts = [UInt64](repeating: 0, count: MemoryCategory.allCases.count)
        counts[MemoryCategory.free.rawValue] = 127
        counts[MemoryCategory.vmalloc.rawValue] = 1
        let sparse = MemoryMap.cell(counts, frames: 128)
        #expect(sparse.category == .vmalloc && !sparse.full && sparse.usedFrames == 1)
        counts[MemoryCategory.slab.rawValue] = 80
        counts[MemoryCategory.vmalloc.rawValue] = 1
        counts[MemoryCategory.free.rawValue] = 47
        let slab = MemoryMap.cell(counts, frames: 128)
        #expect(slab.category == .slab && slab.full)
        var background = [UInt64](repeating: 0, count: MemoryCategory.allCases.count)
        background[MemoryCategory.pagecache.rawValue] = 120
        background[MemoryCategory.vmalloc.rawValue] = 1
        let learner = MemoryMap.cell(background, frames: 128)
        #expect(learner.category == .vmalloc && !learner.full && learner.usedFrames == 121, "what the learner allocated shows through")
        let empty = MemoryMap.cell([UInt64](repeating: 0, count: MemoryCategory.allCases.count), frames: 128)
        #expect(empty.category == .free)
    }

    @Test func everyOwnerHasItsOwnCharacters() {
        let glyphs = MemoryCategory.allCases.map(\.glyph)
        #expect(Set(glyphs).count == glyphs.count)
        let partial = MemoryCategory.allCases.filter { $0 != .free && $0 != .hole }.map(\.partialGlyph)
        #expect(Set(partial).count == partial.count)
        #expect(Set(partial).isDisjoint(with: Set(glyphs)))
    }

    @Test func textIsPlainWithoutColourAndColouredWithIt() throws {
        let m = Machine()
        _ = try m.vmalloc(3 * 4096)
        let plain = MemoryMapText.render(m.memoryMap(), color: false)
        #expect(!plain.contains("\u{1B}"))
        #expect(plain.contains("Legend:"))
        #expect(plain.contains("3 pages + guard"))
        let coloured = MemoryMapText.render(m.memoryMap(), color: true)
        #expect(coloured.contains("\u{1B}["))
    }

    @Test func aLargeX86_64MachineDrawsQuickly() throws {
        var config = MachineConfig()
        config.arch = .x86_64
        config.ram = 64 << 30
        let m = try Machine(config: config)
        let map = m.memoryMap()
        #expect(map.rows.filter(\.startsZone).map(\.zone) == ["DMA", "DMA32", "Normal"])
        #expect(map.rows.count <= 40)
        #expect(map.frameCounts.values.reduce(0, +) == map.totalPages)
    }

    @Test func svgIsWellFormedXML() throws {
        let m = Machine()
        _ = try m.vmalloc(6 * 4096)
        _ = try m.kmalloc(100, .kernel)
        let svg = MemoryMapSVG.render(m.memoryMap())
        let parser = XMLParser(data: Data(svg.utf8))
        let delegate = ElementCounter()
        parser.delegate = delegate
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(delegate.names.first == "svg")
        #expect(delegate.names.filter { $0 == "line" }.count >= 6, "a line per vmalloc page")
    }

    @Test func svgEscapesText() {
        #expect(MemoryMapSVG.escape("a<b & \"c\"\u{1}") == "a&lt;b &amp; &quot;c&quot;?")
    }

    @Test func buddyChartMatchesProcBuddyinfo() throws {
        let m = Machine()
        let chart = m.buddyChart()
        let proc = try m.proc("/proc/buddyinfo")
        for (zone, line) in zip(chart.zones, proc.split(separator: "\n")) {
            let numbers = line.split(separator: " ").suffix(11).compactMap { Int($0) }
            #expect(numbers == zone.freeBlocks, "\(zone.name)")
        }
        let text = chart.render(color: false)
        #expect(text.contains("largest free block: order 10, 4 MiB"))
        #expect(!text.contains("\u{1B}"))
    }

    @Test func dmaCoherentBuffersAreMarkedDMA() throws {
        let m = try Machine(config: MachineConfig(ram: 64 << 20))
        let before = m.memoryMap(columns: 32)
        #expect(before.frameCounts[.dma] == nil)
        let dev = try m.pciDevice(driver: "tinynic", irq: nil, dmaMaskBits: 32)
        let buffer = try #require(try m.dmaAllocCoherent(dev, size: 4 * 4096, flags: .kernel))
        let plain = try #require(try m.getFreePages(.kernel, order: 1))
        let map = m.memoryMap(columns: 32)
        // The coherent buffer's 4 frames are D; the plain pages stay P.
        #expect(map.frameCounts[.dma] == 4)
        #expect(map.frameCounts[.pages] == (before.frameCounts[.pages] ?? 0) + 2)
        let (row, column) = try #require(map.cellPosition(ofPfn: buffer.dma >> 12))
        #expect(map.rows[row].cells[column].category == .dma)
        #expect(MemoryMapText.render(map, color: false).contains("D DMA"))
        try m.dmaFreeCoherent(dev, size: 4 * 4096, cpu: buffer.cpu, dma: buffer.dma)
        #expect(m.memoryMap(columns: 32).frameCounts[.dma] == nil)
        try m.freePagesAddress(plain, order: 1)
    }

    /// An aged 1 GiB machine, as the lessons use it.
    func agedMachine() throws -> Machine {
        var config = MachineConfig()
        config.fragmented = true
        config.seed = 3
        return try Machine(config: config)
    }

    /// The x positions of the frames drawn on the SVG's zoomed strips.
    func stripFrameXs(_ svg: String) -> [String] {
        let pattern = ##"<rect x="([0-9.]+)" y="\d+" width="[0-9.]+" height="16" fill="#ad1457">"##
        let regex = try? NSRegularExpression(pattern: pattern)
        let range = NSRange(svg.startIndex..., in: svg)
        return (regex?.matches(in: svg, range: range) ?? []).compactMap { m in
            Range(m.range(at: 1), in: svg).map { String(svg[$0]) }
        }
    }

    @Test func vmallocFramesStayDistinctOnTheZoomedStripAtAnySize() throws {
        for m in [try agedMachine(), try Machine(config: MachineConfig(ram: 64 << 20))] {
            let p = try #require(try m.vmalloc(64 * 4096))
            let map = m.memoryMap()
            let pfns = try #require(map.vmallocAreas.first { $0.start == p }).pfns
            #expect(pfns.count == 64)
            let svg = MemoryMapSVG.render(map, maxAreas: 1, maxPages: 32)
            let xs = stripFrameXs(svg)
            // One slot per frame: 32 distinct frames, 32 distinct places.
            #expect(xs.count == 32)
            #expect(Set(xs).count == Set(pfns.prefix(32)).count)
            let lo = pfns.prefix(32).min() ?? 0, hi = pfns.prefix(32).max() ?? 0
            let contiguous = hi - lo + 1 == 32 && Array(pfns.prefix(32)) == pfns.prefix(32).sorted()
            #expect(svg.contains(contiguous ? "physically contiguous" : "scattered: 32 frames over \(hi - lo + 1)"))
            let text = MemoryMapText.render(map, color: false)
            #expect(text.contains(contiguous ? "physically contiguous" : "64 frames scattered over"))
        }
    }

    @Test func theLearnersUserPagesAreToldFromTheAgedMachines() throws {
        let m = try agedMachine()
        let before = m.memoryMap()
        #expect((before.frameCounts[.otherUser] ?? 0) > 0, "an aged machine has other tasks' user pages")
        #expect(before.frameCounts[.user] == nil)
        let p = try #require(m.userMalloc(3 * 4096))
        for i in 0..<3 { try m.userWrite(p + UInt64(i * 4096), bytes: [1]) }
        let after = m.memoryMap()
        #expect(after.frameCounts[.user] == 3)
        #expect(after.frameCounts[.otherUser] == before.frameCounts[.otherUser])
        #expect(MemoryMapText.render(after, color: false).contains("O other tasks' user"))
    }

    @Test func theHTMLViewNotesCallSitesAreasAndRecentAllocations() throws {
        let m = try Machine(config: MachineConfig(ram: 64 << 20))
        let v = try #require(try m.vmalloc(8 * 4096))
        _ = try m.kmalloc(64, .kernel)
        let map = m.memoryMap()
        let notes = m.memoryMapNotes(map)
        let all = notes.values.flatMap(\.values)
        let sites = all.flatMap(\.sites)
        let vmallocSite = sites.contains { $0.hasPrefix("vmalloc 32768 bytes") }
        let kmallocSite = sites.contains { $0.hasPrefix("kmalloc 64 bytes") }
        let anyRecent = all.contains { $0.recent }
        #expect(vmallocSite)
        #expect(kmallocSite)
        #expect(anyRecent)
        let areaCells = all.filter { $0.areas == [0] }.count
        let pfns = try #require(map.vmallocAreas.first { $0.start == v }).pfns
        #expect(areaCells == Set(pfns.compactMap { map.cellPosition(ofPfn: $0).map { "\($0.row),\($0.column)" } }).count)
        let html = MemoryMapHTML.render(map, notes: notes)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("data-areas=\" 0 \""))
        #expect(!html.contains("<?xml"))
    }

    /// The bar lengths of a rendered chart's zone, by order.
    func bars(_ text: String) -> [Int] {
        text.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.contains("order") }
            .map { $0.filter { $0 == "#" }.count }
    }

    @Test func buddyBarsWeighFreeMemoryNotBlockCounts() {
        // 8000 single pages and one 4 MiB block: by count the big block was
        // invisible; by memory it is an eighth of the longest bar.
        var blocks = [Int](repeating: 0, count: 11)
        blocks[0] = 8000
        blocks[10] = 1
        let text = BuddyChart(zones: [.init(name: "Normal", freeBlocks: blocks)]).render(color: false, width: 40)
        let b = bars(text)
        #expect(b.count == 11)
        #expect(b[0] == 40)
        #expect(b[10] == 1024 * 40 / 8000)
        #expect(b[1...9].allSatisfy { $0 == 0 })
        #expect(text.contains("largest free block: order 10, 4 MiB"))
    }

    @Test(arguments: [UInt64(1), 7, 42, 1234])
    func buddyBarsAreProportionalToMemoryPerOrder(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        let blocks = (0...10).map { _ in Int(rng.next() % 3000) * Int(rng.next() % 2) }
        let text = BuddyChart(zones: [.init(name: "DMA", freeBlocks: blocks)]).render(color: false, width: 60)
        let b = bars(text)
        let memory = blocks.enumerated().map { UInt64($0.element) << UInt64($0.offset) }
        let most = max(1, memory.max() ?? 1)
        for order in 0...10 {
            let expected = memory[order] == 0 ? 0 : max(1, Int(memory[order] * 60 / most))
            #expect(b[order] == expected, "order \(order) of \(blocks)")
        }
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var names: [String] = []
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        names.append(elementName)
    }
}
