// swift-tools-version:6.0
// kmlab: an educational scripting environment for Linux kernel memory management.
// Layout and rules of the house: docs/architecture.md (KernelSim knows no Lua,
// LuaBridge knows no kernels, KernelLua is glue only, the CLI is thin).
import PackageDescription

/// The modules on the path of every kernel call from Lua, in release builds:
/// - no dynamic exclusivity checks (they were ~15% of a kmalloc+kfree pair in
///   `kmlab bench`); the flag, not per-declaration attributes, so that debug
///   builds check every access;
/// - non-atomic reference counting (`-assume-single-threaded`): atomic
///   retains and releases were half of that pair's time. Sound because kmlab
///   runs every Lua state and machine on its main thread (grading uses worker
///   processes, not threads; the one helper thread, a worker's parent
///   watchdog, touches no Swift object). Debug builds and tests keep atomic
///   counts (Swift Testing runs tests in parallel; BuildConfigurationTests
///   fails a `swift test -c release` run with the reason) and keep dynamic
///   exclusivity checks on every stored property, the simulator's hot storage
///   included: an overlapping access traps there, in the tests.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-Xfrontend", "-assume-single-threaded"], .when(configuration: .release))]

let package = Package(
    name: "kmlab",
    products: [
        .executable(name: "kmlab", targets: ["kmlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: a module map plus shim.h with static inline wrappers.
        .systemLibrary(name: "CLua", path: "Modules/CLua", pkgConfig: "lua5.4",
                       providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CReadline", path: "Modules/CReadline", pkgConfig: "readline",
                       providers: [.apt(["libreadline-dev"])]),

        // The one seeded pseudo-random generator (SplitMix64).
        .target(name: "SeededRandom"),
        .target(name: "KernelSim", dependencies: ["SeededRandom"], swiftSettings: hotPath),
        // Writing whole output files safely (atomic for regular files, in place for devices and FIFOs).
        .target(name: "SafeOutput"),
        .target(name: "LuaBridge", dependencies: ["CLua"], swiftSettings: hotPath),
        .target(name: "KernelLua", dependencies: ["KernelSim", "LuaBridge", "CLua", "SafeOutput"], swiftSettings: hotPath),
        // Lessons, their solutions, the examples and the grading driver stay Lua
        // files; the EmbedLuaFiles plugin compiles them in at build time.
        .target(name: "Lessons", dependencies: ["KernelSim", "LuaBridge", "KernelLua", "CLua", "SafeOutput"],
                exclude: ["Driver"], plugins: ["EmbedLuaFiles"]),
        .executableTarget(name: "EmbedLuaFilesTool"),
        .plugin(name: "EmbedLuaFiles", capability: .buildTool(), dependencies: ["EmbedLuaFilesTool"]),
        .executableTarget(name: "kmlab", dependencies: [
            "KernelSim", "LuaBridge", "KernelLua", "Lessons", "CReadline", "SafeOutput", "SeededRandom",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "KernelSimTests", dependencies: ["KernelSim", "SeededRandom"]),
        .testTarget(name: "LuaBridgeTests", dependencies: ["LuaBridge", "CLua", "CReadline", "SeededRandom"]),
        .testTarget(name: "KernelLuaTests", dependencies: ["KernelLua", "LuaBridge", "KernelSim", "CLua"]),
        .testTarget(name: "LessonsTests", dependencies: ["Lessons", "KernelLua", "LuaBridge", "KernelSim", "SafeOutput", "SeededRandom"]),
        // Runs the built `kmlab` binary as a subprocess (exit statuses, messages, the REPL through a pty).
        .testTarget(name: "KmlabCLITests", dependencies: ["kmlab"]),
    ],
    swiftLanguageModes: [.v5]
)
