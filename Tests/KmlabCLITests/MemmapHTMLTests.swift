import Foundation
import Testing

/// `memmap{html=...}` opened in a headless Chromium: the script runs, the
/// page's own JavaScript lights the cells of vmalloc area 0 (`#area=0`, what
/// a click does) and a screenshot renders. Skipped, with the reason, when
/// Chromium is not installed (`make chromium` installs it).
@Suite(.serialized) struct MemmapHTMLTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    func runChromium(_ args: [String], in dir: ScratchDirectory) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MemmapHTMLTests.chromium ?? "/usr/bin/chromium")
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                       "--user-data-dir=" + dir.url.appendingPathComponent("profile").path] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: MemmapHTMLTests.chromium != nil, "chromium is not installed (make chromium installs it)"))
    func theInteractivePageLightsAnAreasFramesInChromium() throws {
        let dir = try ScratchDirectory()
        let script = try dir.write("map.lua", """
            boot{ram = "256M", fragmented = true, seed = 5}
            ring = vmalloc(24 * PAGE_SIZE)
            buf = kmalloc(512, GFP_KERNEL)
            memmap{html = "map.html", columns = 48}
            """)
        let r = try KmlabProcess.run(["run", "--trusted", script], currentDirectory: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("memmap: wrote map.html"))
        let page = dir.url.appendingPathComponent("map.html")
        let html = try String(contentsOf: page, encoding: .utf8)
        let areaCells = html.components(separatedBy: "data-areas=\" 0 \"").count - 1
        #expect(areaCells > 0)
        #expect(html.contains("allocated by: vmalloc 98304 bytes"))

        let dom = try runChromium(["--dump-dom", page.absoluteString + "#area=0"], in: dir)
        // The page's script ran: every cell of area 0 lit, and only those.
        #expect(dom.components(separatedBy: " lit\"").count - 1 == areaCells, "\(dom.prefix(400))")
        #expect(dom.contains("vmalloc area 0: \(areaCells) cell"))

        let png = dir.url.appendingPathComponent("map.png")
        _ = try runChromium(["--screenshot=" + png.path, "--window-size=1100,1500", page.absoluteString + "#area=0"], in: dir)
        let bytes = try Data(contentsOf: png)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        #expect(bytes.count > 10_000, "a picture, not a blank page")
    }

    @Test func theSandboxRefusesHTML() throws {
        let dir = try ScratchDirectory()
        let script = try dir.write("map.lua", "memmap{html = 'map.html'}\n")
        let r = try KmlabProcess.run(["run", script], currentDirectory: dir.url)
        #expect(r.status == 1)
        #expect(r.stderr.contains("html= writes a file, which the sandbox does not allow"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("map.html").path))
    }
}
