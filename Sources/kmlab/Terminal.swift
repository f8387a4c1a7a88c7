import Foundation

/// Writing to the terminal: stdout for the script's output, stderr for
/// errors and kernel reports (stdout is flushed first so they interleave in
/// the order they happened).
enum Terminal {
    static func out(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
    }

    static func error(_ text: String) {
        fflush(stdout)
        let line = text.hasSuffix("\n") ? text : text + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static var stderrIsTTY: Bool { isatty(2) != 0 }
    static var stdoutIsTTY: Bool { isatty(1) != 0 }
}
