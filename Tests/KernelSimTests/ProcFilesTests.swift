import Testing
@testable import KernelSim

/// The one table of files (`ProcFile.all`): every consumer reads it, so these
/// tests hold the table itself to what `proc`, `writeFile` and the docs
/// promise.
@Suite struct ProcFilesTests {
    static let machines: [MachineConfig] = [
        MachineConfig(arch: .x86_32, bootMessages: false),
        MachineConfig(arch: .x86_64, ram: 8 << 30, bootMessages: false),  // has a SWIOTLB pool
        MachineConfig(arch: .x86_32, era: .v2_6, bootMessages: false),
    ]

    @Test func pathsAreUniqueAndAbsolute() {
        let paths = ProcFile.all.map(\.path)
        #expect(Set(paths).count == paths.count)
        #expect(paths.allSatisfy { $0.hasPrefix("/proc/") || $0.hasPrefix("/sys/") })
    }

    @Test(arguments: machines)
    func everyFileAMachineHasReadsTheSameTwiceAndOtherPathsAreRefused(config: MachineConfig) throws {
        let m = try Machine(config: config)
        let expected = ProcFile.all.filter { $0.exists(config) }.map(\.path).sorted()
        #expect(m.procPaths == expected)
        // Reading is side-effect free (some files are legitimately empty
        // after boot: kmemleak, the DMA-API dump, vmallocinfo on 2.6).
        for path in m.procPaths {
            #expect(try m.proc(path) == (try m.proc(path)), "\(path)")
        }
        for f in ProcFile.all where !f.exists(config) {
            #expect(throws: ProcError.self) { try m.proc(f.path) }
            #expect(m.writeFile(f.path, "1") == .ENOENT)
        }
        #expect(throws: ProcError.self) { try m.proc("/proc/nonexistent") }
    }

    @Test(arguments: machines)
    func writingFollowsTheTable(config: MachineConfig) throws {
        let m = try Machine(config: config)
        #expect(m.writablePaths == ProcFile.all.filter { $0.isWritable && $0.exists(config) }.map(\.path).sorted())
        for f in ProcFile.all where f.exists(config) && !f.isWritable {
            #expect(m.writeFile(f.path, "1") == .EACCES, "\(f.path)")
        }
        // A writable attribute takes a number and reads it back.
        if let probability = m.writablePaths.first(where: { $0.hasSuffix("failslab/probability") }) {
            #expect(m.writeFile(probability, "37") == nil)
            #expect(try m.proc(probability) == "37\n")
        }
    }

    /// An unknown path's error lists the known files grouped by directory
    /// (a wall of 30 full paths is not read).
    @Test func unknownPathErrorGroupsTheKnownFiles() throws {
        let m = try Machine(config: MachineConfig(bootMessages: false))
        do {
            _ = try m.proc("/proc/nope")
            Issue.record("no error")
        } catch let e as ProcError {
            #expect(e.description.hasPrefix("cat: /proc/nope: No such file or directory (known: /proc/{"))
            #expect(e.description.components(separatedBy: "/sys/kernel/debug/failslab/").count == 2)
            for path in m.procPaths {
                let name = String(path.split(separator: "/").last ?? "")
                #expect(e.description.contains(name), "\(path)")
            }
        }
    }

    /// The doc summary (`cat`'s and `write`'s help) names every file.
    @Test func docSummaryNamesEveryFile() {
        let summary = ProcFile.docSummary()
        for f in ProcFile.all {
            let cut = f.path.lastIndex(of: "/") ?? f.path.startIndex
            let dir = String(f.path[..<cut]), name = String(f.path[f.path.index(after: cut)...])
            #expect(summary.contains(f.path) || (summary.contains(dir + "/{") && summary.contains(name)), "\(f.path)")
        }
        #expect(ProcFile.docSummary(ProcFile.all.filter(\.isWritable)).contains("/sys/kernel/debug/failslab/{"))
    }
}
