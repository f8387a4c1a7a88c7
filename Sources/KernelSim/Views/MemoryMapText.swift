/// Draws a `MemoryMap` for a terminal: one character per cell, a distinct
/// character per owner (so it reads without colour), ANSI colours on top
/// when asked. A zone starts a new row, labelled with its name and the
/// physical address of the row's first frame.
public enum MemoryMapText {
    public static func render(_ map: MemoryMap, color: Bool) -> String {
        var out: [String] = []
        let cellBytes = map.framesPerCell &* 4096
        let rowBytes = cellBytes &* UInt64(map.columns)
        out.append("Physical memory: \(byteSize(map.totalPages &* 4096)), \(map.totalPages) frames; "
                   + "one cell = \(map.framesPerCell) frame\(map.framesPerCell == 1 ? "" : "s") (\(byteSize(cellBytes))), "
                   + "\(map.columns) cells = \(byteSize(rowBytes)) per row")
        let physDigits = map.totalPages &* 4096 > 0xFFFF_FFFF ? 10 : 8
        for row in map.rows {
            let label = (row.startsZone ? row.zone : "").padding(toLength: 8, withPad: " ", startingAt: 0)
            var line = label + " 0x" + hexPad(row.firstPfn &* 4096, physDigits) + " "
            for cell in row.cells { line += paint(cell.category, cell.full ? cell.category.glyph : cell.category.partialGlyph, color) }
            out.append(line)
        }
        var legend = "Legend:"
        for c in map.categoriesPresent where c != .hole {
            legend += "  " + paint(c, c.glyph, color) + " " + c.name
        }
        out.append(legend)
        out.append("(lower case or +: the owner holds under half the cell; kernel allocations show over other owners)")
        let counts = map.categoriesPresent.filter { $0 != .hole }.map { "\($0.name) \(map.frameCounts[$0] ?? 0)" }
        var line = "Frames:"
        for (i, item) in counts.enumerated() {
            let piece = " " + item + (i < counts.count - 1 ? "," : "")
            if line.count + piece.count > 80 { out.append(line); line = "       " }
            line += piece
        }
        out.append(line)
        out += vmallocLines(map, color: color)
        return out.joined(separator: "\n") + "\n"
    }

    /// The vmalloc area as rows of virtual pages and the frames they map:
    /// contiguous on the left, scattered on the right.
    static func vmallocLines(_ map: MemoryMap, color: Bool, maxAreas: Int = 8, maxPages: Int = 16) -> [String] {
        let d = map.addressDigits
        var out = [""]
        out.append("vmalloc area 0x\(hexPad(map.vmallocStart, d))-0x\(hexPad(map.vmallocEnd, d)): "
                   + (map.vmallocAreas.isEmpty ? "no areas" : "\(map.vmallocAreas.count) area\(map.vmallocAreas.count == 1 ? "" : "s") (virtually contiguous, physically scattered)"))
        for area in map.vmallocAreas.prefix(maxAreas) {
            out.append("  0x\(hexPad(area.start, d))-0x\(hexPad(area.start &+ area.size, d)) "
                       + "\(area.pfns.count) page\(area.pfns.count == 1 ? "" : "s") + guard  \(area.caller)")
            let shown = area.pfns.prefix(maxPages)
            let width = max(7, shown.map { String($0, radix: 16).count + 2 }.max() ?? 7)
            var virt = "    virtual  "
            var phys = "    pfn      "
            for (i, pfn) in shown.enumerated() {
                let v = "+\(String(i &* 4096, radix: 16))"
                virt += paint(.vmalloc, Character("V"), color) + v.padding(toLength: width, withPad: " ", startingAt: 0)
                phys += ("0x" + String(pfn, radix: 16)).padding(toLength: width + 1, withPad: " ", startingAt: 0)
            }
            if area.pfns.count > maxPages { virt += "…"; phys += "… (\(area.pfns.count - maxPages) more)" }
            out.append(String(virt.reversed().drop(while: { $0 == " " }).reversed()))
            out.append(String(phys.reversed().drop(while: { $0 == " " }).reversed()))
            out.append("    " + MemoryMapText.spanSummary(area.pfns))
        }
        if map.vmallocAreas.count > maxAreas {
            out.append("  … \(map.vmallocAreas.count - maxAreas) more areas (see /proc/vmallocinfo)")
        }
        return out
    }

    /// Whether an area's frames are contiguous, said in numbers: at 1 GiB a
    /// cell is 128 frames, so the grid alone cannot tell 64 neighbouring
    /// frames from 64 frames scattered over a few cells.
    static func spanSummary(_ pfns: [UInt64]) -> String {
        guard let lo = pfns.min(), let hi = pfns.max() else { return "" }
        let span = hi - lo + 1
        let contiguous = span == UInt64(pfns.count) && pfns == pfns.sorted()
        return "frames 0x\(String(lo, radix: 16))-0x\(String(hi, radix: 16)): "
            + (contiguous ? "physically contiguous" : "\(pfns.count) frames scattered over \(span) (\(byteSize(span &* 4096)))")
    }

    static func paint(_ c: MemoryCategory, _ glyph: Character, _ color: Bool) -> String {
        color ? "\u{1B}[\(c.ansi)m\(glyph)\u{1B}[0m" : String(glyph)
    }
}

/// "512 KiB", "1 GiB", "4 KiB", "1.5 MiB".
func byteSize(_ bytes: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var i = 0
    while value >= 1024 && i < units.count - 1 { value /= 1024; i += 1 }
    if i == 0 { return "\(bytes) bytes" }
    let tenths = (value * 10).rounded() / 10
    if tenths == tenths.rounded() { return "\(Int(tenths)) \(units[i])" }
    return "\(tenths) \(units[i])"
}

