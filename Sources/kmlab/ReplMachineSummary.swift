import KernelLua
import KernelSim

/// One-line confirmations for `.boot` and `.load`: what the learner now has.
enum ReplMachineSummary {
    /// `x86_64, 8 GiB of RAM, seed 0` (plus `aged` / `era 2.6` when set).
    static func describe(_ config: MachineConfig) -> String {
        var parts = [config.arch.rawValue, size(config.ram) + " of RAM"]
        if config.fragmented { parts.append("aged (fragmented)") }
        if config.era != .v6 { parts.append("era \(config.era.rawValue)") }
        parts.append("seed \(config.seed)")
        return parts.joined(separator: ", ")
    }

    static func size(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        return "\(bytes >> 10) KiB"
    }

    /// The global names, read raw (no metamethod runs).
    static func globalNames(_ ctx: ReplContext) -> [String] {
        ReplCompleter(kernel: ctx.kernel, commandNames: { [] }).fieldNames(ofPath: nil, functionsOnly: false)
    }
}
