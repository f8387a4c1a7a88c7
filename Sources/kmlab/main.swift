import ArgumentParser
import Foundation

// Usage errors exit with status 2 (ArgumentParser's default is 64).
do {
    var command = try Kmlab.parseAsRoot()
    try command.run()
} catch {
    let code = Kmlab.exitCode(for: error)
    if code == .validationFailure {
        FileHandle.standardError.write(Data((Kmlab.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    Kmlab.exit(withError: error)
}
