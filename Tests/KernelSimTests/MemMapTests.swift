import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import KernelSim
import Testing

/// The memory pictures' model and renderers (KernelSim/Views).
@Suite struct MemMapTests {
    @Test func theGridCoversEveryFrameZoneByZone() throws {
        let m = Machine()
        let map = m.memoryMap()
        let counted = map.frameCounts.values.reduce(0, +)
        #expect(counted == map.totalPages)
        #expect(map.rows.filter(\.startsZone).map(\.zone) == ["DMA", "Normal", "HighMem"])
        // Rows follow each other without gaps.
        var next: UInt64 = 0
        for row in map.rows {
            #expect(row.firstPfn == next)
            next = row.firstPfn + UInt64(row.cells.count) * map.framesPerCell
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
        #expect(text.contains("order 10"))
        #expect(!text.contains("\u{1B}"))
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var names: [String] = []
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        names.append(elementName)
    }
}
