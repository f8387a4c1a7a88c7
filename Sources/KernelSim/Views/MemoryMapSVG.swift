/// Draws a `MemoryMap` as a standalone SVG document: the grid of physical
/// memory (cells filled by owner, lighter when the owner holds less than
/// half the cell, zone labels), a legend, and for each vmalloc area a row
/// of virtual pages with a line from each page to its frame on a strip that
/// zooms on the physical range the area's frames span. On the whole-memory
/// grid a cell holds hundreds of frames, so 64 scattered pages could land
/// on one or two cells and look contiguous; on the zoomed strip every frame
/// has its own place at any machine size, and the cells holding the area's
/// frames are outlined on the grid.
public enum MemoryMapSVG {
    static let cell = 12
    static let gridLeft = 150
    static let top = 44
    /// Width of a vmalloc area's zoomed physical strip.
    static let stripWidth = 560

    /// Extra attributes for the interactive view (MemoryMapHTML): per grid
    /// cell (row, column) and per vmalloc area (its index).
    struct Hooks {
        var cell: (Int, Int) -> String = { _, _ in "" }
        var area: (Int) -> String = { _ in "" }
        /// Without the XML prolog, to be inlined in HTML.
        var inline = false
    }

    public static func render(_ map: MemoryMap, maxAreas: Int = 4, maxPages: Int = 32) -> String {
        render(map, maxAreas: maxAreas, maxPages: maxPages, hooks: Hooks())
    }

    static func render(_ map: MemoryMap, maxAreas: Int, maxPages: Int, hooks: Hooks) -> String {
        let gridWidth = map.columns * cell
        let gridHeight = map.rows.count * cell
        let areas = Array(map.vmallocAreas.prefix(maxAreas))
        let legendTop = top + gridHeight + 24
        let legendRows = (map.categoriesPresent.count + 3) / 4
        let vmTop = legendTop + legendRows * 20 + 36
        let areaHeight = 140
        let width = gridLeft + max(gridWidth, stripWidth, maxPages * (cell + 5)) + 60
        let height = vmTop + max(1, areas.count) * areaHeight + 10
        let physDigits = map.totalPages &* 4096 > 0xFFFF_FFFF ? 10 : 8

        var s: [String] = []
        if !hooks.inline { s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>") }
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"monospace\" font-size=\"12\">")
        s.append("<title>Physical memory map</title>")
        s.append("<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>")
        s.append(text(10, 22, "Physical memory: \(byteSize(map.totalPages &* 4096)), one cell = \(map.framesPerCell) frame\(map.framesPerCell == 1 ? "" : "s") (\(byteSize(map.framesPerCell &* 4096)))", bold: true, size: 14))
        for (i, row) in map.rows.enumerated() {
            let y = top + i * cell
            if row.startsZone {
                s.append(text(10, y + cell - 2, row.zone, bold: true))
                s.append("<line x1=\"\(gridLeft - 4)\" y1=\"\(y)\" x2=\"\(gridLeft + gridWidth)\" y2=\"\(y)\" stroke=\"#000000\" stroke-width=\"1\"/>")
            }
            s.append(text(68, y + cell - 2, "0x" + hexPad(row.firstPfn &* 4096, physDigits), size: 10))
            for (j, c) in row.cells.enumerated() {
                let opacity = c.full ? "1" : "0.45"
                s.append("<rect x=\"\(gridLeft + j * cell)\" y=\"\(y)\" width=\"\(cell - 1)\" height=\"\(cell - 1)\" fill=\"\(c.category.svgColor)\" fill-opacity=\"\(opacity)\"\(hooks.cell(i, j))><title>\(escape(c.category.name)) pfn 0x\(String(row.firstPfn &+ UInt64(j) &* map.framesPerCell, radix: 16))</title></rect>")
            }
        }
        for (i, c) in map.categoriesPresent.enumerated() where c != .hole {
            let x = 10 + (i % 4) * 190, y = legendTop + (i / 4) * 20
            s.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"14\" height=\"14\" fill=\"\(c.svgColor)\" stroke=\"#000000\" stroke-width=\"0.5\"/>")
            s.append(text(x + 20, y + 12, "\(c.name) (\(map.frameCounts[c] ?? 0))"))
        }
        if areas.isEmpty {
            s.append(text(10, vmTop, "vmalloc area: no areas"))
        }
        for (a, area) in areas.enumerated() {
            s.append("<g\(hooks.area(a))>")
            s += vmallocArea(area, map: map, top: vmTop + a * areaHeight, maxPages: maxPages, physDigits: physDigits)
            s.append("</g>")
        }
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
    }

    /// One vmalloc area: its virtual pages, the zoomed strip of the physical
    /// range their frames span, a line from each page to its frame, and the
    /// grid cells holding those frames outlined.
    static func vmallocArea(_ area: MemoryMap.VmallocArea, map: MemoryMap, top y: Int, maxPages: Int, physDigits: Int) -> [String] {
        var s: [String] = []
        let color = MemoryCategory.vmalloc.svgColor
        let shown = Array(area.pfns.prefix(maxPages))
        s.append(text(10, y, "vmalloc 0x\(hexPad(area.start, map.addressDigits)): \(area.pfns.count) page\(area.pfns.count == 1 ? "" : "s"), \(area.caller)", bold: true))
        s.append(text(10, y + 24, "virtual", size: 11))
        s.append(text(10, y + 94, "physical", size: 11))
        guard let lo = shown.min(), let hi = shown.max() else { return s }
        let span = hi - lo + 1
        // Outline, on the grid, every cell holding one of the area's frames.
        var outlined = Set<Int>()
        for pfn in area.pfns {
            guard let (r, c) = map.cellPosition(ofPfn: pfn), outlined.insert(r * 100_000 + c).inserted else { continue }
            s.append("<rect x=\"\(gridLeft + c * cell - 1)\" y=\"\(top + r * cell - 1)\" width=\"\(cell + 1)\" height=\"\(cell + 1)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>")
        }
        // The strip: [lo, hi] stretched over stripWidth, one slot per frame.
        let stripY = y + 82
        let slot = Double(stripWidth) / Double(span)
        s.append("<rect x=\"\(gridLeft)\" y=\"\(stripY)\" width=\"\(stripWidth)\" height=\"16\" fill=\"#eeeeee\" stroke=\"#999999\" stroke-width=\"0.5\"/>")
        for (i, pfn) in shown.enumerated() {
            let vx = gridLeft + i * (cell + 5)
            let fx = Double(gridLeft) + Double(pfn - lo) * slot
            let fw = max(2.0, slot - 1)
            let vaddr = "0x" + String(area.start &+ UInt64(i) &* 4096, radix: 16)
            let tip = "\(vaddr) → pfn 0x\(String(pfn, radix: 16)) (phys 0x\(String(pfn &* 4096, radix: 16)))"
            s.append("<rect x=\"\(vx)\" y=\"\(y + 12)\" width=\"\(cell + 2)\" height=\"\(cell + 2)\" fill=\"\(color)\"><title>\(escape(tip))</title></rect>")
            s.append("<rect x=\"\(format(fx))\" y=\"\(stripY)\" width=\"\(format(fw))\" height=\"16\" fill=\"\(color)\"><title>\(escape(tip))</title></rect>")
            s.append("<line x1=\"\(vx + cell / 2 + 1)\" y1=\"\(y + 26)\" x2=\"\(format(fx + fw / 2))\" y2=\"\(stripY)\" stroke=\"\(color)\" stroke-width=\"1\" stroke-opacity=\"0.7\"/>")
        }
        let contiguous = span == UInt64(shown.count) && shown == shown.sorted()
        let verdict = contiguous ? "physically contiguous" : "scattered: \(shown.count) frames over \(span)"
        s.append(text(gridLeft, stripY + 30, "0x" + hexPad(lo &* 4096, physDigits), size: 10))
        let right = "0x" + hexPad((hi &+ 1) &* 4096, physDigits)
        s.append("<text x=\"\(gridLeft + stripWidth)\" y=\"\(stripY + 30)\" font-size=\"10\" text-anchor=\"end\">\(escape(right))</text>")
        s.append("<text x=\"\(gridLeft + stripWidth / 2)\" y=\"\(stripY + 30)\" font-size=\"11\" text-anchor=\"middle\" font-weight=\"bold\">\(escape("zoom: " + byteSize(span &* 4096) + ", " + verdict))</text>")
        if area.pfns.count > shown.count {
            s.append(text(gridLeft + shown.count * (cell + 5) + 4, y + 24, "… \(area.pfns.count - shown.count) more", size: 11))
        }
        return s
    }

    static func format(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    static func text(_ x: Int, _ y: Int, _ t: String, bold: Bool = false, size: Int? = nil) -> String {
        var attrs = "x=\"\(x)\" y=\"\(y)\""
        if bold { attrs += " font-weight=\"bold\"" }
        if let size { attrs += " font-size=\"\(size)\"" }
        return "<text \(attrs)>\(escape(t))</text>"
    }

    /// XML text escaping (callers' names come from Lua scripts).
    static func escape(_ t: String) -> String {
        var out = ""
        for ch in t.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters are not allowed in XML 1.0.
                if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += "?" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }
}
