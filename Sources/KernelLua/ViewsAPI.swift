import Foundation
import KernelSim
import LuaBridge
import SafeOutput

/// Pictures of memory: `memmap()`, `memmap{svg="map.svg"}` and
/// `buddyinfo()`. The pictures are computed and drawn in
/// KernelSim/Views; this is the glue (options, output, the file write).
///
/// Colour: the pictures are coloured only when the host said the output is
/// a terminal that wants colour (`KernelEnvironment.picturesInColor`, which
/// the REPL sets; kmlab run and graders never do), so captured output stays
/// plain text.
enum ViewsAPI {
    static func install(into env: KernelEnvironment) {
        let topic = "Pictures"
        env.define("memmap", doc: APIDoc(topic: topic,
            signature: "memmap([{svg=\"file.svg\", html=\"file.html\", columns=64}])",
            summary: "Draws physical memory as a grid, one cell per block of frames, one character (and colour on a terminal) per owner: . free, # reserved, S slab, L kmalloc-large, P alloc_pages, V vmalloc, U your tasks' user pages, O other tasks' user pages (an aged machine's), C page cache, T page tables, K other kernel memory, D DMA buffers (dma_alloc_coherent); a lower-case letter marks a cell its owner holds less than half of, and what a script allocated shows over page cache and other kernel memory in the same cell. Each zone starts a new row, labelled with the physical address. Below, every vmalloc area as a row of virtual pages with the page frame each one maps and the physical range those frames span: virtually contiguous, physically scattered. With svg=\"file.svg\" writes the same picture as an SVG file instead, where each area's frames are drawn on a strip zoomed on that range (one slot per frame at any machine size) and outlined on the grid. With html=\"file.html\" writes an interactive page: hover a cell for its frames, zone, owner and the call sites that allocated there, click a vmalloc area to light up its frames; the newest allocations are outlined (trusted profile only: the REPL and kmlab run --trusted).",
            failure: "an error for a bad option, or for svg= or html= in the sandbox or an unwritable file",
            kernel: "no single counterpart: /proc/pagetypeinfo, /proc/kpageflags and page-types(8) expose the same facts")) { call in
            var columns = 64
            var svgPath: String?
            var htmlPath: String?
            if !call.isNil(1) {
                try call.checkTable(1, "options")
                try checkKeys(call, known: ["svg", "html", "columns"])
                let columnsValue = call.rawFieldValue(1, "columns")
                if columnsValue != .nil {
                    guard case .integer(let c) = columnsValue, c >= 8, c <= 512 else {
                        throw call.error("columns must be an integer from 8 to 512")
                    }
                    columns = Int(c)
                }
                let svgValue = call.rawFieldValue(1, "svg")
                if svgValue != .nil {
                    guard let s = svgValue.text, !s.isEmpty else {
                        throw call.error("svg must be a file name such as \"map.svg\"")
                    }
                    svgPath = s
                }
                let htmlValue = call.rawFieldValue(1, "html")
                if htmlValue != .nil {
                    guard let s = htmlValue.text, !s.isEmpty else {
                        throw call.error("html must be a file name such as \"map.html\"")
                    }
                    htmlPath = s
                }
            }
            let map = env.machine.memoryMap(columns: columns)
            if let htmlPath {
                guard env.lua.profile == .trusted else {
                    throw call.error("html= writes a file, which the sandbox does not allow (run the REPL or kmlab run --trusted)")
                }
                do {
                    try OutputFile.write(MemoryMapHTML.render(map, notes: env.machine.memoryMapNotes(map)), to: htmlPath)
                } catch {
                    throw call.error("\(error)")
                }
                call.state.output(Array("memmap: wrote \(htmlPath)\n".utf8))
                if svgPath == nil { return 0 }
            }
            if let svgPath {
                guard env.lua.profile == .trusted else {
                    throw call.error("svg= writes a file, which the sandbox does not allow (run the REPL or kmlab run --trusted)")
                }
                do {
                    try OutputFile.write(MemoryMapSVG.render(map), to: svgPath)
                } catch {
                    throw call.error("\(error)")
                }
                call.state.output(Array("memmap: wrote \(svgPath)\n".utf8))
                return 0
            }
            call.state.output(Array(MemoryMapText.render(map, color: env.picturesInColor).utf8))
            return 0
        }
        env.define("buddyinfo", doc: APIDoc(topic: topic, signature: "buddyinfo()",
            summary: "Draws /proc/buddyinfo as bars: per zone and order (order 0 = 4 KiB ... order 10 = 4 MiB), the free blocks and the free memory they hold; the bars measure memory, so one free 4 MiB block counts as much as 1024 single pages. A fresh machine keeps its free memory in order-10 blocks; fragmentation moves it to the small orders, where a large contiguous allocation can no longer be served.",
            kernel: "mm/vmstat.c frag_show_print (/proc/buddyinfo)")) { call in
            call.state.output(Array(env.machine.buddyChart().render(color: env.picturesInColor).utf8))
            return 0
        }
    }

    /// Unknown option names are errors (typos such as `svg_file=`). Every
    /// option table with more keys than `known` has an unknown one among
    /// its first `known.count + 1`, so the walk needs no other limit.
    static func checkKeys(_ call: LuaCall, known: Set<String>) throws {
        try call.forEachRawKey(ofTable: 1, limit: known.count + 1) { key in
            guard let name = key.text, known.contains(name) else {
                throw call.error("unknown option \(key.text.map { "'\($0)'" } ?? "of another type"); known: \(known.sorted().joined(separator: ", "))")
            }
            return true
        }
    }
}
