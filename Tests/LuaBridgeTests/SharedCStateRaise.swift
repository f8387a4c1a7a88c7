import CReadline
import Glibc

/// Half of `SharedCStateTests`: runs the REPL's SIGINT handler from this
/// file, so its write and the read in the other file go through code
/// emitted in two object files.
enum SharedCStateRaise {
    static func interruptOnce() {
        kmlab_sigint_handler(SIGINT)
    }
}
