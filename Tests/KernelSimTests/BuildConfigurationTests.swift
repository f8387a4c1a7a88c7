import Testing

/// The tests must run in a debug build. Package.swift builds the hot-path
/// modules of a release build with non-atomic reference counting
/// (`-assume-single-threaded`), which is sound for kmlab (one thread per
/// process) but not for Swift Testing, which runs tests in parallel; and
/// release builds drop the index checks of `RawVec` and every `assert`
/// the invariant tests rely on. `swift test -c release` fails here first,
/// with the reason, instead of crashing somewhere at random.
@Suite struct BuildConfigurationTests {
    @Test func testsRunInADebugBuild() {
        #if DEBUG
        let debug = true
        #else
        let debug = false
        #endif
        #expect(debug, "run the tests in a debug build (`swift test`, not `swift test -c release`): see Package.swift")
        #expect(_isDebugAssertConfiguration(), "assertions are off: RawVec's index checks would not run")
    }
}
