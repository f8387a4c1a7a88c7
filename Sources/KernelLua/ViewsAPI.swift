import CLua
import Foundation
import KernelSim
import LuaBridge
import SafeOutput

/// Pictures of memory: `memmap()`, `memmap{svg="map.svg"}` and
/// `buddyinfo()`. The pictures are computed and drawn in
/// KernelSim/Views; this is the glue (options, output, the file write).
///
/// Colour: the pictures are coloured only when the host said the output is
/// a terminal that wants colour (`ViewsAPI.setColor`, which the REPL calls;
/// kmlab run and graders never do), so captured output stays plain text.
enum ViewsAPI {
    static let colorKey = "kmlab.views.color"

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
                if call.rawField(1, "columns") != LUA_TNIL {
                    guard lua_isinteger(call.L, -1) != 0, kmlab_tointeger(call.L, -1) >= 8, kmlab_tointeger(call.L, -1) <= 512 else {
                        kmlab_pop(call.L, 1)
                        throw call.error("columns must be an integer from 8 to 512")
                    }
                    columns = Int(kmlab_tointeger(call.L, -1))
                }
                kmlab_pop(call.L, 1)
                if call.rawField(1, "svg") != LUA_TNIL {
                    guard let s = call.state.string(at: -1, on: call.L), !s.isEmpty else {
                        kmlab_pop(call.L, 1)
                        throw call.error("svg must be a file name such as \"map.svg\"")
                    }
                    svgPath = s
                }
                kmlab_pop(call.L, 1)
                if call.rawField(1, "html") != LUA_TNIL {
                    guard let s = call.state.string(at: -1, on: call.L), !s.isEmpty else {
                        kmlab_pop(call.L, 1)
                        throw call.error("html must be a file name such as \"map.html\"")
                    }
                    htmlPath = s
                }
                kmlab_pop(call.L, 1)
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
            call.state.output(Array(MemoryMapText.render(map, color: colorEnabled(call.L)).utf8))
            return 0
        }
        env.define("buddyinfo", doc: APIDoc(topic: topic, signature: "buddyinfo()",
            summary: "Draws /proc/buddyinfo as bars: per zone and order (order 0 = 4 KiB ... order 10 = 4 MiB), the free blocks and the free memory they hold; the bars measure memory, so one free 4 MiB block counts as much as 1024 single pages. A fresh machine keeps its free memory in order-10 blocks; fragmentation moves it to the small orders, where a large contiguous allocation can no longer be served.",
            kernel: "mm/vmstat.c frag_show_print (/proc/buddyinfo)")) { call in
            call.state.output(Array(env.machine.buddyChart().render(color: colorEnabled(call.L)).utf8))
            return 0
        }
    }

    /// Unknown option names are errors (typos such as `svg_file=`).
    static func checkKeys(_ call: LuaCall, known: Set<String>) throws {
        let L = call.L
        lua_pushnil(L)
        while lua_next(L, 1) != 0 {
            kmlab_pop(L, 1)
            let key = lua_type(L, -1) == LUA_TSTRING ? call.state.string(at: -1, on: L) : nil
            guard let key, known.contains(key) else {
                kmlab_pop(L, 1)
                throw call.error("unknown option \(key.map { "'\($0)'" } ?? "of another type"); known: \(known.sorted().joined(separator: ", "))")
            }
        }
    }

    static func colorEnabled(_ L: OpaquePointer) -> Bool {
        let t = lua_getfield(L, kmlab_registryindex(), colorKey)
        let on = t == LUA_TBOOLEAN && lua_toboolean(L, -1) != 0
        kmlab_pop(L, 1)
        return on
    }

    /// Turns colour in the pictures on or off for this state (the REPL on a terminal without NO_COLOR).
    static func setColor(_ on: Bool, in lua: LuaState) {
        lua_pushboolean(lua.L, on ? 1 : 0)
        lua_setfield(lua.L, kmlab_registryindex(), colorKey)
    }
}

extension KernelEnvironment {
    /// Whether `memmap()` and `buddyinfo()` draw with ANSI colours (off by default).
    public var picturesInColor: Bool {
        get { ViewsAPI.colorEnabled(lua.L) }
        set { ViewsAPI.setColor(newValue, in: lua) }
    }
}
