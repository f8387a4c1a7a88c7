@testable import KernelSim

/// Small machines for memory-model tests (boot messages off: the log then
/// holds only what the test provoked).
func testMachine(_ arch: Arch = .x86_32, ram: UInt64 = 1 << 30, era: Era = .v6, seed: UInt64 = 0,
                 fragmented: Bool = false) throws -> Machine {
    try Machine(config: MachineConfig(arch: arch, ram: ram, era: era, seed: seed, fragmented: fragmented,
                                      bootMessages: false))
}

extension Machine {
    /// Reports of one kind raised so far.
    func reports(_ kind: KernelReport.Kind) -> [KernelReport] { log.reports.filter { $0.kind == kind } }

    /// The /proc/buddyinfo counts of a zone, order 0...10, parsed from the text.
    func buddyinfoCounts(_ zone: String) throws -> [Int] {
        let text = try proc("/proc/buddyinfo")
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 15 && parts[3] == Substring(zone) { return parts[4...].compactMap { Int($0) } }
        }
        return []
    }

    /// Zone by its buddyinfo name.
    func zone(named name: String) -> Zone? { zones.first { $0.name == name } }
}
