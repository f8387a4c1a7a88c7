import Foundation

/// How to build a simulated machine: `boot{arch=, ram=, era=, seed=, fragmented=}`.
///
/// Ranges (checked by `Machine.init(config:)`, which throws `BootError`):
/// - x86_32 (3G/1G split, no PAE): 32 MiB ... 4 GiB. Without PAE a 32-bit
///   physical address reaches 4 GiB; PAE (64 GiB) is not modelled. The lower
///   bound leaves room for the kernel image, which 6.x kernels load at 16 MiB
///   (CONFIG_PHYSICAL_START).
/// - x86_64 (4-level paging): 64 MiB ... 1 TiB.
/// RAM is contiguous from physical address 0 (the PCI hole below 4 GiB is not
/// modelled) and is truncated to whole pages.
public struct MachineConfig: Sendable, Hashable {
    public enum Arch: String, Sendable, CaseIterable {
        case x86_32
        case x86_64
    }

    /// Which kernel generation the machine behaves like.
    public enum Era: String, Sendable, CaseIterable {
        /// Linux 6.12: SLUB, `MAX_PAGE_ORDER` = 10, KMALLOC_MAX_SIZE 4 MiB.
        case v6 = "6.x"
        /// Linux 2.6.18: SLAB `size-N` caches up to 128 KiB, `MAX_ORDER` = 11.
        case v2_6 = "2.6"
    }

    public var arch: Arch
    /// RAM in bytes.
    public var ram: UInt64
    public var era: Era
    /// Seeds every pseudo-random choice (fresh memory contents, fragmentation).
    public var seed: UInt64
    /// Age the machine into the state of a long-running system: most memory
    /// in the page cache, free memory scattered in small blocks.
    public var fragmented: Bool
    /// TLB entries for 4 KiB pages (fully associative, LRU).
    public var tlbEntries4K: Int
    /// TLB entries for large pages (4 MiB on x86_32, 2 MiB / 1 GiB on x86_64).
    public var tlbEntriesLarge: Int
    /// Print the kernel's boot messages (memory map, zones) into the log.
    public var bootMessages: Bool
    /// `failslab=` and `fail_page_alloc=` boot parameters:
    /// "<interval>,<probability>,<space>,<times>" (lib/fault-inject.c).
    public var failslab: String?
    public var failPageAlloc: String?
    /// CPUs online (`boot{cpus=N}`, 1...64). One CPU keeps the machine every
    /// lesson before SMP measures: vfree unmaps and flushes at once. With
    /// more, each CPU has its own TLB and vfree purges lazily, with IPIs
    /// (Memory/TlbShootdown.swift).
    public var cpus: Int = 1

    public init(arch: Arch = .x86_32, ram: UInt64 = 1 << 30, era: Era = .v6, seed: UInt64 = 0,
                fragmented: Bool = false, tlbEntries4K: Int = 64, tlbEntriesLarge: Int = 32,
                bootMessages: Bool = true) {
        self.arch = arch
        self.ram = ram
        self.era = era
        self.seed = seed
        self.fragmented = fragmented
        self.tlbEntries4K = tlbEntries4K
        self.tlbEntriesLarge = tlbEntriesLarge
        self.bootMessages = bootMessages
    }

    /// The default machine: x86_32, 1 GiB, era 6.x.
    public static let standard = MachineConfig()

    /// The most CPUs `boot{cpus=N}` brings online.
    public static let maximumCPUs = 64

    public static func minimumRAM(_ arch: Arch) -> UInt64 { arch == .x86_32 ? 32 << 20 : 64 << 20 }
    public static func maximumRAM(_ arch: Arch) -> UInt64 { arch == .x86_32 ? 4 << 30 : 1 << 40 }

    /// Checks the ranges; the message names the bad value and the valid range.
    public func validate() throws {
        let lo = MachineConfig.minimumRAM(arch), hi = MachineConfig.maximumRAM(arch)
        if ram < lo || ram > hi {
            throw BootError("boot: ram \(MachineConfig.formatSize(ram)) is out of range for \(arch.rawValue) "
                + "(\(MachineConfig.formatSize(lo)) to \(MachineConfig.formatSize(hi))"
                + (arch == .x86_32 ? "; a 32-bit kernel without PAE addresses at most 4 GiB)" : ")"))
        }
        if tlbEntries4K < 1 || tlbEntries4K > 4096 {
            throw BootError("boot: tlbEntries4K must be 1...4096, got \(tlbEntries4K)")
        }
        if tlbEntriesLarge < 1 || tlbEntriesLarge > 4096 {
            throw BootError("boot: tlbEntriesLarge must be 1...4096, got \(tlbEntriesLarge)")
        }
        if cpus < 1 || cpus > MachineConfig.maximumCPUs {
            throw BootError("boot: cpus must be an integer from 1 to \(MachineConfig.maximumCPUs), got \(cpus)")
        }
    }

    /// Parses a size the way `boot{ram=...}` accepts it: a byte count, or a
    /// number with a K, M, G or T suffix (binary units), optionally followed
    /// by `B` or `iB`: "1G", "512M", "64GiB", "1048576".
    public static func parseSize(_ text: String) throws -> UInt64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        var digits = Substring(t)
        var shift: UInt64 = 0
        var suffix = ""
        while let last = digits.last, !last.isNumber {
            suffix = String(last) + suffix
            digits = digits.dropLast()
        }
        switch suffix.uppercased() {
        case "", "B": shift = 0
        case "K", "KB", "KIB": shift = 10
        case "M", "MB", "MIB": shift = 20
        case "G", "GB", "GIB": shift = 30
        case "T", "TB", "TIB": shift = 40
        default:
            throw BootError("boot: ram must be a size such as \"1G\", \"512M\" or a byte count, got \"\(text)\"")
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else {
            throw BootError("boot: ram must be a size such as \"1G\", \"512M\" or a byte count, got \"\(text)\"")
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
        if overflow { throw BootError("boot: ram \"\(text)\" is too large") }
        return v
    }

    /// "1 GiB", "512 MiB", "1536 KiB".
    public static func formatSize(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (u, name) in units where bytes >= u && bytes % u == 0 { return "\(bytes / u) \(name)" }
        return "\(bytes) bytes"
    }
}

public typealias Arch = MachineConfig.Arch
public typealias Era = MachineConfig.Era

/// A `boot{}` argument the simulator cannot build a machine from.
public struct BootError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The simulator (not the simulated kernel) ran out of a host resource it is
/// allowed to use: the sandbox turns this into a "memory limit exceeded"
/// outcome. The machine is left consistent; the operation did not happen.
public enum SimulatorLimitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Storing more memory contents would exceed `Machine.contentsByteLimit`.
    case memoryLimitExceeded(limit: Int)

    public var description: String {
        switch self {
        case .memoryLimitExceeded(let limit):
            return "memory limit exceeded: the simulated memory contents would need more than \(limit) bytes of host memory"
        }
    }
}

/// A call the simulator refuses because an argument cannot mean anything to
/// the kernel (a negative size, a page that does not exist). The Lua glue
/// turns it into a Lua error; `function` and `argument` name the culprit.
public struct KernelArgumentError: Error, CustomStringConvertible, Sendable, Equatable {
    public var function: String
    public var argument: String
    public var message: String
    public init(_ function: String, _ argument: String, _ message: String) {
        self.function = function
        self.argument = argument
        self.message = message
    }
    public var description: String { "\(function): \(argument) \(message)" }
}

/// `proc(path)` for a path that no provider knows.
public struct ProcError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var known: [String]
    /// The message after the function's name: the known paths grouped by
    /// directory, so the list stays readable.
    public var reason: String { "\(path): No such file or directory (known: \(ProcFile.grouped(known)))" }
    public var description: String { "cat: " + reason }
}
