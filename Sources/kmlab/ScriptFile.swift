import Foundation
import Lessons

/// Reading a script the user named, with one-line errors that name it.
enum ScriptFile {
    static func read(_ path: String) -> Result<[UInt8], ScriptFileProblem> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(ScriptFileProblem("cannot open \(path): no such file"))
        }
        if isDirectory.boolValue { return .failure(ScriptFileProblem("cannot run \(path): it is a directory")) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ScriptFileProblem("cannot read \(path): permission denied or not a regular file"))
        }
        // A UTF-8 byte-order mark (Notepad writes one) is skipped, as lua5.4 does.
        return .success(LuaSource.withoutByteOrderMark([UInt8](data)))
    }
}

struct ScriptFileProblem: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
