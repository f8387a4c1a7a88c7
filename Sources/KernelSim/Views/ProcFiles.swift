/// Every file `cat`, `proc` and `write` know, in one table: its path, the
/// kernel code that prints it, on which machines it exists, how to read it
/// and (for the debugfs attributes) how to write it. `Machine.proc`,
/// `Machine.writeFile`, the REPL's path completion and the `cat` doc page all
/// read this table, so a new file is one entry here and nothing else.
public struct ProcFile {
    public let path: String
    /// The kernel function that prints the file (docs and tests cite it).
    public let printedBy: String
    /// Whether a machine booted with this configuration has the file (the
    /// DMA-API debug and fault-injection files are 6.x only; SWIOTLB's exist
    /// when the machine has a bounce pool).
    public let exists: (MachineConfig) -> Bool
    let read: (Machine) throws -> String
    /// nil for a read-only file: writing it is EACCES, as kernfs refuses the open.
    let write: ((Machine, [UInt8]) -> Errno?)?

    init(_ path: String, _ printedBy: String, exists: @escaping (MachineConfig) -> Bool = { _ in true },
         write: ((Machine, [UInt8]) -> Errno?)? = nil, read: @escaping (Machine) throws -> String) {
        self.path = path
        self.printedBy = printedBy
        self.exists = exists
        self.read = read
        self.write = write
    }

    public var isWritable: Bool { write != nil }
}

extension ProcFile {
    /// The table, in the order the `cat` doc page lists it.
    public static let all: [ProcFile] = [
        ProcFile("/proc/meminfo", "fs/proc/meminfo.c meminfo_proc_show") { $0.meminfo() },
        ProcFile("/proc/buddyinfo", "mm/vmstat.c frag_show_print") { $0.buddyinfo() },
        ProcFile("/proc/zoneinfo", "mm/vmstat.c zoneinfo_show_print") { $0.zoneinfo() },
        ProcFile("/proc/slabinfo", "mm/slab_common.c slab_show") { $0.slabinfo() },
        ProcFile("/proc/vmallocinfo", "mm/vmalloc.c vmalloc_info_show") { $0.vmallocinfo() },
        ProcFile("/proc/interrupts", "arch/x86/kernel/irq.c arch_show_interrupts") { $0.procInterrupts() },
        ProcFile("/proc/self/maps", "fs/proc/task_mmu.c show_map_vma") { $0.procSelfMaps() },
        ProcFile("/sys/kernel/debug/kmemleak", "mm/kmemleak.c kmemleak_seq_show") { $0.kmemleakFile() },
        ProcFile("/sys/kernel/debug/dma-api/dump", "kernel/dma/debug.c dump_show",
                 exists: { $0.era == .v6 }) { $0.dmaDebugDump() },
        ProcFile("/sys/kernel/debug/swiotlb/io_tlb_nslabs", "kernel/dma/swiotlb.c swiotlb_create_debugfs_files",
                 exists: hasSwiotlb) { "\($0.swiotlb?.nslabs ?? 0)\n" },
        ProcFile("/sys/kernel/debug/swiotlb/io_tlb_used", "kernel/dma/swiotlb.c io_tlb_used_get",
                 exists: hasSwiotlb) { "\($0.swiotlb?.usedCount ?? 0)\n" },
        ProcFile("/sys/kernel/debug/swiotlb/io_tlb_used_hiwater", "kernel/dma/swiotlb.c io_tlb_hiwater_get",
                 exists: hasSwiotlb) { "\($0.swiotlb?.usedHiwater ?? 0)\n" },
    ] + FaultInjection.allFiles.map { entry in
        // failslab and fail_page_alloc exist on 6.x only (2.6.18 had neither).
        ProcFile(entry.path, "lib/fault-inject.c fault_create_debugfs_attr",
                 exists: { $0.era == .v6 }, write: { entry.file.write($0.faults, $1) }) { entry.file.read($0.faults) }
    }

    static func hasSwiotlb(_ config: MachineConfig) -> Bool { Machine.swiotlbRange(config) != nil }

    /// The files a machine of `config` has, by path (the first entry wins if
    /// a path were listed twice; ProcFilesTests keeps the table free of that).
    static func present(for config: MachineConfig) -> [String: ProcFile] {
        var files: [String: ProcFile] = [:]
        for f in all where f.exists(config) && files[f.path] == nil { files[f.path] = f }
        return files
    }

    /// The paths of `files` for a doc page: each directory once, its files in
    /// braces (`/sys/kernel/debug/swiotlb/{io_tlb_nslabs,io_tlb_used}`).
    public static func docSummary(_ files: [ProcFile] = all) -> String { grouped(files.map(\.path)) }

    /// `paths` with each directory written once, in first-seen order.
    static func grouped(_ paths: [String]) -> String {
        var order: [String] = [], byDirectory: [String: [String]] = [:]
        for path in paths {
            let cut = path.lastIndex(of: "/") ?? path.startIndex
            let dir = String(path[..<cut])
            let name = cut < path.endIndex ? String(path[path.index(after: cut)...]) : path
            if byDirectory[dir] == nil { order.append(dir) }
            byDirectory[dir, default: []].append(name)
        }
        return order.map { dir in
            let names = byDirectory[dir] ?? []
            return names.count == 1 ? "\(dir)/\(names[0])" : "\(dir)/{\(names.joined(separator: ","))}"
        }.joined(separator: ", ")
    }
}
