/// `memmap{html="map.html"}`: the SVG picture in a page that answers
/// questions. Hovering a cell shows its frames, zone, owner and the call
/// sites of the script's live allocations there (kmemleak's records);
/// clicking a vmalloc area lights up the cells of its frames; the cells of
/// the most recent allocations are outlined. Self-contained (no network),
/// deterministic; `#area=N` in the address lights area N on load, so the
/// view can be checked without a mouse.
public enum MemoryMapHTML {
    /// What the page knows about one grid cell beyond its owner.
    public struct CellNotes: Sendable, Equatable {
        public var sites: [String] = []
        public var recent = false
        public var areas: [Int] = []
    }

    public static func render(_ map: MemoryMap, notes: [Int: [Int: CellNotes]], maxAreas: Int = 4, maxPages: Int = 32) -> String {
        var hooks = MemoryMapSVG.Hooks()
        hooks.inline = true
        hooks.cell = { r, c in
            guard r < map.rows.count, c < map.rows[r].cells.count else { return "" }
            let row = map.rows[r], cell = row.cells[c]
            let first = row.firstPfn &+ UInt64(c) &* map.framesPerCell
            let last = min(first &+ map.framesPerCell, map.totalPages) &- 1
            let n = notes[r]?[c] ?? CellNotes()
            var info = "pfn 0x\(String(first, radix: 16))"
            if last > first { info += "-0x\(String(last, radix: 16))" }
            info += " (phys 0x\(String(first &* 4096, radix: 16))) | zone \(row.zone) | owner: \(cell.category.name)"
            info += " | \(cell.usedFrames) of \(last &- first &+ 1) frames in use"
            if !n.sites.isEmpty { info += " | allocated by: " + n.sites.joined(separator: "; ") }
            var attrs = " class=\"cell\(n.recent ? " recent" : "")\" data-info=\"\(MemoryMapSVG.escape(info))\""
            if !n.areas.isEmpty { attrs += " data-areas=\" \(n.areas.map(String.init).joined(separator: " ")) \"" }
            return attrs
        }
        hooks.area = { a in " class=\"area\" data-area=\"\(a)\"" }
        let svg = MemoryMapSVG.render(map, maxAreas: maxAreas, maxPages: maxPages, hooks: hooks)
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>kmlab memory map</title>
        <style>
        body { font-family: sans-serif; margin: 12px; }
        #info { font-family: monospace; font-size: 13px; min-height: 2.6em; padding: 6px; background: #f5f5f5; border: 1px solid #ccc; margin-bottom: 8px; white-space: pre-wrap; }
        .cell:hover { stroke: #000; stroke-width: 2; }
        .cell.recent { stroke: #ff6d00; stroke-width: 2; }
        .cell.lit { stroke: #000; stroke-width: 3; fill-opacity: 1; }
        .area { cursor: pointer; }
        .area.selected text { fill: #ad1457; }
        </style>
        </head>
        <body>
        <div id="info">Hover a cell: its frames, zone, owner and who allocated there. Click a vmalloc area below the grid to light up its frames. Orange outlines: the most recent allocations.</div>
        \(svg)
        <script>
        const info = document.getElementById('info');
        for (const cell of document.querySelectorAll('.cell')) {
          cell.addEventListener('mouseenter', () => { info.textContent = cell.dataset.info; });
        }
        function light(n) {
          for (const lit of document.querySelectorAll('.lit')) lit.classList.remove('lit');
          for (const g of document.querySelectorAll('.area')) g.classList.toggle('selected', g.dataset.area === String(n));
          const cells = document.querySelectorAll('.cell[data-areas~="' + n + '"]');
          for (const cell of cells) cell.classList.add('lit');
          info.textContent = 'vmalloc area ' + n + ': ' + cells.length + ' cell(s) hold its frames';
        }
        for (const g of document.querySelectorAll('.area')) {
          g.addEventListener('click', () => light(g.dataset.area));
        }
        const m = /area=(\\d+)/.exec(location.hash);
        if (m) light(m[1]);
        </script>
        </body>
        </html>

        """
    }
}

extension Machine {
    /// What `MemoryMapHTML` shows per cell of `map`: the call sites of the
    /// live allocations there (kmemleak's records, innermost frames), the
    /// cells of the `recent` newest allocations, and the vmalloc areas whose
    /// frames a cell holds.
    public func memoryMapNotes(_ map: MemoryMap, recent: Int = 8, maxAreas: Int = 4) -> [Int: [Int: MemoryMapHTML.CellNotes]] {
        var notes: [Int: [Int: MemoryMapHTML.CellNotes]] = [:]
        func note(_ pfn: UInt64, _ change: (inout MemoryMapHTML.CellNotes) -> Void) {
            guard let (r, c) = map.cellPosition(ofPfn: pfn) else { return }
            var n = notes[r]?[c] ?? MemoryMapHTML.CellNotes()
            change(&n)
            notes[r, default: [:]][c] = n
        }
        let live = liveAllocations()
        for (i, a) in live.enumerated() {
            let pfns: [UInt64]
            switch a.kind {
            case .vmalloc:
                pfns = vm.areas.first { $0.start == a.address }?.pages ?? []
            default:
                let first = a.address >= layout.pageOffset ? (a.address &- layout.pageOffset) >> 12 : a.address >> 12
                let count = a.order.map { UInt64(1) << UInt64(min($0, 20)) } ?? 1
                pfns = (0..<count).map { first &+ $0 }
            }
            let site = a.callTrace.prefix(2).joined(separator: " ← ")
            let label = "\(a.kind.rawValue) \(a.size) bytes" + (site.isEmpty ? "" : " at " + site)
            let isRecent = i >= live.count - recent
            var seenCells = Set<Int>()
            for pfn in pfns {
                guard let (r, c) = map.cellPosition(ofPfn: pfn), seenCells.insert(r * 100_000 + c).inserted else { continue }
                note(pfn) { n in
                    if n.sites.count < 4, !n.sites.contains(label) { n.sites.append(label) }
                    if isRecent { n.recent = true }
                }
            }
        }
        for (index, area) in map.vmallocAreas.prefix(maxAreas).enumerated() {
            for pfn in area.pfns { note(pfn) { n in if !n.areas.contains(index) { n.areas.append(index) } } }
        }
        return notes
    }
}
