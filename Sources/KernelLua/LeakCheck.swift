import KernelSim
import LuaBridge

extension KernelEnvironment {
    /// The standard library tables: never roots (their numbers are not addresses).
    static let libraryGlobals: Set<String> = ["_G", "string", "table", "math", "utf8", "coroutine",
                                              "os", "io", "debug", "package", "arg", "user"]

    /// kmemleak at the end of a run: every kmalloc/vmalloc object that no
    /// global of the script still points to (directly, through a table or
    /// through another object) is reported as `unreferenced object`. The
    /// script's globals play the module's data section, which kmemleak scans
    /// as roots; the kernel API's own constants are not roots.
    @discardableResult
    public func reportLeaks() -> [KernelReport] {
        let skip = Set(docs.keys).union(Self.libraryGlobals)
        let roots = lua.reachableIntegers(skipping: skip).map { UInt64(bitPattern: $0) }
        return machine.reportLeaks(roots: roots)
    }
}
