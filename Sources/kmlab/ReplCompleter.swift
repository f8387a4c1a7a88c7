import Foundation
import KernelLua
import LuaBridge

/// Tab completion: what a word at the cursor can become. Candidates come
/// from the live Lua globals (read raw: no `__index` or other metamethod
/// runs, so completing can never run learner code), the documented API
/// names (`KernelEnvironment.docs`, which every API file fills), Lua
/// keywords, REPL commands, and /proc paths inside `cat("` / `proc("`.
final class ReplCompleter {
    let kernel: KernelEnvironment
    let commandNames: () -> [String]

    init(kernel: KernelEnvironment, commandNames: @escaping () -> [String]) {
        self.kernel = kernel
        self.commandNames = commandNames
    }

    static let keywords = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                           "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]

    /// Full replacements for `word`, sorted; `lineBefore` is the line up to the word.
    func completions(for word: String, lineBefore: String) -> [String] {
        let trimmed = lineBefore.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty && word.hasPrefix(".") {
            return Array(Set(commandNames().map { "." + $0 }.filter { $0.hasPrefix(word) })).sorted()
        }
        // A path: readline's word is only what follows the last `/` (a word
        // break, for division), so the path typed so far is read from the
        // whole line and each candidate is cut to what replaces the word.
        if let typed = ReplCompleter.pathArgument(lineBefore + word) {
            let cut = typed.count - word.count
            return kernel.machine.procPaths.filter { $0.hasPrefix(typed) }.map { String($0.dropFirst(cut)) }
        }
        if let sep = word.lastIndex(where: { $0 == "." || $0 == ":" }) {
            let path = String(word[..<sep])
            let partial = String(word[word.index(after: sep)...])
            let methodsOnly = word[sep] == ":"
            var names = Set(fieldNames(ofPath: path, functionsOnly: methodsOnly))
            if !methodsOnly {
                for name in kernel.docs.keys where name.hasPrefix(path + ".") {
                    let rest = name.dropFirst(path.count + 1)
                    if !rest.contains(".") { names.insert(String(rest)) }
                }
            }
            return names.filter { $0.hasPrefix(partial) }.map { path + String(word[sep]) + $0 }.sorted()
        }
        var names = Set(fieldNames(ofPath: nil, functionsOnly: false))
        for name in kernel.docs.keys where !name.contains(".") { names.insert(name) }
        names.formUnion(ReplCompleter.keywords)
        return names.filter { $0.hasPrefix(word) }.sorted()
    }

    /// The path typed so far when the cursor is in the string argument of
    /// `cat(` or `proc(` (`cat("/proc/bu` → `/proc/bu`), else nil.
    static func pathArgument(_ textBeforeCursor: String) -> String? {
        guard let quoteIndex = textBeforeCursor.lastIndex(where: { $0 == "\"" || $0 == "'" }) else { return nil }
        let typed = textBeforeCursor[textBeforeCursor.index(after: quoteIndex)...]
        var s = textBeforeCursor[..<quoteIndex]
        while s.last == " " { s = s.dropLast() }
        if s.last == "(" { s = s.dropLast() }
        while s.last == " " { s = s.dropLast() }
        for name in ["cat", "proc"] where s.hasSuffix(name) {
            let before = s.dropLast(name.count).last
            if before.map({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == ":" }) != true {
                return String(typed)
            }
        }
        return nil
    }

    /// The identifier keys of the table at `path` (nil: the globals), read
    /// raw; for a value whose metatable has a table `__index` (a device, a
    /// page), that table's keys too (the methods `dev:` completes).
    func fieldNames(ofPath path: String?, functionsOnly: Bool) -> [String] {
        kernel.lua.fieldNames(ofPath: path, functionsOnly: functionsOnly).filter(ReplCompleter.isIdentifier)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map({ Array($0.utf8) }) else { return "" }
        for w in words.dropFirst() {
            let b = Array(w.utf8)
            var n = 0
            while n < prefix.count && n < b.count && prefix[n] == b[n] { n += 1 }
            prefix = Array(prefix.prefix(n))
        }
        return String(decoding: prefix, as: UTF8.self)
    }
}
