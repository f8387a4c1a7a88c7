import KernelSim
import LuaBridge

/// Allocation, addresses and pages, memory contents (issue 3). Stub until
/// the memory model lands.
enum MemoryAPI {
    static func install(into env: KernelEnvironment) {}
}
