/// Draws a `MemoryMap` as a standalone SVG document: the grid of physical
/// memory (cells filled by owner, lighter when the owner holds less than
/// half the cell, zone labels), a legend, and for each vmalloc area a row
/// of virtual pages with a line from each page down to the cell of the
/// frame it maps, which shows "virtually contiguous, physically scattered".
public enum MemoryMapSVG {
    static let cell = 10
    static let gridLeft = 150
    static let top = 40

    public static func render(_ map: MemoryMap, maxAreas: Int = 4, maxPages: Int = 32) -> String {
        let gridWidth = map.columns * cell
        let gridHeight = map.rows.count * cell
        let areas = Array(map.vmallocAreas.prefix(maxAreas))
        let legendTop = top + gridHeight + 20
        let legendRows = (map.categoriesPresent.count + 3) / 4
        let vmTop = legendTop + legendRows * 18 + 30
        let areaHeight = 60
        let width = gridLeft + max(gridWidth, maxPages * (cell + 4) + 20) + 40
        let height = vmTop + areas.count * areaHeight + 20
        let physDigits = map.totalPages &* 4096 > 0xFFFF_FFFF ? 10 : 8

        var s: [String] = []
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"monospace\" font-size=\"11\">")
        s.append("<title>Physical memory map</title>")
        s.append("<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>")
        s.append(text(10, 20, "Physical memory: \(byteSize(map.totalPages &* 4096)), one cell = \(map.framesPerCell) frames (\(byteSize(map.framesPerCell &* 4096)))", bold: true))
        for (i, row) in map.rows.enumerated() {
            let y = top + i * cell
            if row.startsZone {
                s.append(text(10, y + cell - 1, row.zone, bold: true))
                s.append("<line x1=\"\(gridLeft - 4)\" y1=\"\(y)\" x2=\"\(gridLeft + gridWidth)\" y2=\"\(y)\" stroke=\"#000000\" stroke-width=\"1\"/>")
            }
            s.append(text(70, y + cell - 1, "0x" + hexPad(row.firstPfn &* 4096, physDigits), size: 8))
            for (j, c) in row.cells.enumerated() {
                let opacity = c.full ? "1" : "0.45"
                s.append("<rect x=\"\(gridLeft + j * cell)\" y=\"\(y)\" width=\"\(cell - 1)\" height=\"\(cell - 1)\" fill=\"\(c.category.svgColor)\" fill-opacity=\"\(opacity)\"><title>\(escape(c.category.name)) pfn 0x\(String(row.firstPfn &+ UInt64(j) &* map.framesPerCell, radix: 16))</title></rect>")
            }
        }
        for (i, c) in map.categoriesPresent.enumerated() {
            let x = 10 + (i % 4) * 150, y = legendTop + (i / 4) * 18
            s.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"12\" height=\"12\" fill=\"\(c.svgColor)\" stroke=\"#000000\" stroke-width=\"0.5\"/>")
            s.append(text(x + 18, y + 10, "\(c.name) (\(map.frameCounts[c] ?? 0))"))
        }
        if areas.isEmpty {
            s.append(text(10, vmTop, "vmalloc area: no areas"))
        }
        for (a, area) in areas.enumerated() {
            let y = vmTop + a * areaHeight
            s.append(text(10, y, "vmalloc 0x\(hexPad(area.start, map.addressDigits)) \(area.pfns.count) pages \(area.caller)", bold: true))
            for (i, pfn) in area.pfns.prefix(maxPages).enumerated() {
                let x = gridLeft + i * (cell + 4)
                s.append("<rect x=\"\(x)\" y=\"\(y + 8)\" width=\"\(cell + 2)\" height=\"\(cell + 2)\" fill=\"\(MemoryCategory.vmalloc.svgColor)\"><title>0x\(String(area.start &+ UInt64(i) &* 4096, radix: 16)) → pfn 0x\(String(pfn, radix: 16))</title></rect>")
                if let (r, c) = map.cellPosition(ofPfn: pfn) {
                    let cx = gridLeft + c * cell + cell / 2, cy = top + r * cell + cell / 2
                    s.append("<line x1=\"\(x + cell / 2 + 1)\" y1=\"\(y + 8)\" x2=\"\(cx)\" y2=\"\(cy)\" stroke=\"\(MemoryCategory.vmalloc.svgColor)\" stroke-width=\"0.6\" stroke-opacity=\"0.6\"/>")
                }
            }
        }
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
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
