import CReadline
import Testing

/// The C shims' state shared between a signal handler and the code that
/// reads it must exist once in the program, whichever Swift files the calls
/// are in (release builds inline across files; a `static` in a header made
/// Ctrl-C do nothing in the release REPL).
@Suite struct SharedCStateTests {
    @Test func aSignalSeenInOneFileIsTakenInAnother() {
        _ = kmlab_sigint_take()
        SharedCStateRaise.interruptOnce()
        #expect(kmlab_sigint_take() == 1)
        #expect(kmlab_sigint_take() == 0)
    }
}
