import KernelSim
import LuaBridge

/// Contexts, locks, interrupts, deferred work, syscalls, user space and DMA
/// devices (issue 4). Stub until the contexts model lands.
enum ContextAPI {
    static func install(into env: KernelEnvironment) {}
}
