// embed-lua-files: writes one Swift file holding text files as string
// literals, so that the kmlab binary carries its lessons, reference
// solutions, examples and grading driver wherever it is copied.
//
// Run by the EmbedLuaFiles build-tool plugin at build time (never by hand,
// and its output is never committed):
//
//   EmbedLuaFilesTool OUTPUT.swift ENUM (--files | --one) FILE...
//
// --files writes `public enum ENUM { public static let files: [(name:, source:)] }`
//         with one entry per FILE, named by its base name, in the order given;
// --one   writes `enum ENUM { static let source: String }` from exactly one FILE.
import Foundation

/// A raw multi-line string literal whose text is exactly `text`: the `#`
/// delimiter is one longer than the longest run of `#` in the text, so
/// nothing in it can end the literal or start an interpolation.
func rawLiteral(_ text: String) -> String {
    var longest = 0, run = 0
    for c in text.unicodeScalars {
        if c == "#" { run += 1; longest = max(longest, run) } else { run = 0 }
    }
    let hashes = String(repeating: "#", count: longest + 1)
    // The text sits between the line after the opening quotes and the line
    // before the closing ones; the newline before the closing quotes is not
    // part of the string, so the text is kept byte for byte.
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("embed-lua-files: \(message)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
guard args.count >= 4, args[3] == "--files" || args[3] == "--one" else {
    fail("usage: embed-lua-files OUTPUT.swift ENUM (--files | --one) FILE...")
}
let output = args[1], name = args[2], one = args[3] == "--one"
let inputs = Array(args.dropFirst(4))
if one && inputs.count != 1 { fail("--one takes exactly one file, got \(inputs.count)") }

var swift = "// Generated at build time by embed-lua-files (Plugins/EmbedLuaFiles): do not edit.\n"
if one {
    let path = inputs[0]
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path) as UTF-8") }
    swift += "enum \(name) {\n    static let source = \(rawLiteral(text))\n}\n"
} else {
    swift += "/// The files compiled into the binary (see `LessonCatalog.standard` and `BundledFiles`).\n"
    swift += "public enum \(name) {\n    public static let files: [(name: String, source: String)] = [\n"
    for path in inputs {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path) as UTF-8") }
        let base = URL(fileURLWithPath: path).lastPathComponent
        swift += "        (\"\(base)\", \(rawLiteral(text))),\n"
    }
    swift += "    ]\n}\n"
}
// Only rewrite when the text changed, so an unchanged lesson set does not
// recompile the Lessons module.
if let old = try? String(contentsOfFile: output, encoding: .utf8), old == swift { exit(0) }
do { try swift.write(toFile: output, atomically: true, encoding: .utf8) } catch { fail("cannot write \(output): \(error)") }
