/// Kernel taint flags, the one set every report prints (kernel/panic.c
/// `taint_flags[]`, 6.12 order: the raw value is the TAINT_* bit number).
/// Warnings, KASAN reports, Oopses and the out-of-tree module add them;
/// `print_tainted()` (ExecutionState.taintString) prints them.
public enum TaintFlag: Int, Sendable, CaseIterable {
    case proprietaryModule = 0, forcedModule, cpuOutOfSpec, forcedRmmod, machineCheck, badPage, user, die,
         overriddenACPITable, warn, crap, firmwareWorkaround, ootModule, unsignedModule, softlockup,
         livepatch, aux, randstruct, test

    /// (c_true, c_false) of taint_flags[]: the letter printed when the flag
    /// is set, and when it is not.
    var letters: (Character, Character) {
        switch self {
        case .proprietaryModule: return ("P", "G")
        case .forcedModule: return ("F", " ")
        case .cpuOutOfSpec: return ("S", " ")
        case .forcedRmmod: return ("R", " ")
        case .machineCheck: return ("M", " ")
        case .badPage: return ("B", " ")
        case .user: return ("U", " ")
        case .die: return ("D", " ")
        case .overriddenACPITable: return ("A", " ")
        case .warn: return ("W", " ")
        case .crap: return ("C", " ")
        case .firmwareWorkaround: return ("I", " ")
        case .ootModule: return ("O", " ")
        case .unsignedModule: return ("E", " ")
        case .softlockup: return ("L", " ")
        case .livepatch: return ("K", " ")
        case .aux: return ("X", " ")
        case .randstruct: return ("T", " ")
        case .test: return ("N", " ")
        }
    }
}
