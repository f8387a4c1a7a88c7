import Foundation
import KernelLua
import LuaBridge

/// The functions a lesson shows being called (`name(` in its text, prompts,
/// hints, tagged hints, explanations, answer feedback and choice options), and which of them kmlab does not have: a learner
/// who types a name the lesson showed must not meet "attempt to call a nil
/// value". Allowed: kmlab's documented API (`help()`), Lua's standard
/// library, the grading vocabulary, the functions the lesson asks the
/// learner to write, and functions its own code examples define; a bare
/// name kmlab has as `user.NAME` or `math.NAME` (`malloc(n)` in a user
/// program, `min(a, b)` as notation). Not calls: a real kernel function
/// cited with its source file (`__might_resched() (kernel/sched/core.c)`)
/// or as "the kernel's", and a system call named as one (`the read() syscall`).
public enum LessonNames {
    public struct Mention: Equatable, Sendable {
        public var name: String
        /// `text`, or the exercise and field (`q1 hint 2`).
        public var place: String
    }

    /// Mentions of names kmlab does not know, in order of appearance, each once.
    public static func unknownCalls(in lesson: Lesson) -> [Mention] {
        let known = knownNames(for: lesson)
        var seen = Set<String>()
        var out: [Mention] = []
        for (place, text) in texts(of: lesson) {
            for name in calls(in: text) where !isKnown(name, known: known) && seen.insert(name).inserted {
                out.append(Mention(name: name, place: place))
            }
        }
        return out
    }

    static func texts(of lesson: Lesson) -> [(String, String)] {
        var out = [("text", lesson.text)]
        for e in lesson.exercises {
            out.append(("\(e.id) prompt", e.prompt))
            for (i, h) in e.hints.enumerated() { out.append(("\(e.id) hint \(i + 1)", h)) }
            // The hints a check names for a failure are hints too.
            for tag in e.taggedHints.keys.sorted() {
                for (i, h) in (e.taggedHints[tag] ?? []).enumerated() { out.append(("\(e.id) hint \(tag) \(i + 1)", h)) }
            }
            if let why = e.explain { out.append(("\(e.id) explain", why)) }
            for (i, f) in e.feedback.enumerated() { out.append(("\(e.id) feedback \(i + 1)", f.text)) }
            if case .question(.choice(let options, _)) = e.kind {
                for (i, o) in options.enumerated() { out.append(("\(e.id) option \(AnswerMatcher.letter(i))", o)) }
            }
        }
        return out
    }

    /// Every `name(` / `a.b(` / `a:b(` in `text` that is not a citation of
    /// the real kernel and not a plural such as `page(s)`.
    static func calls(in text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
        var out: [String] = []
        for (n, line) in lines.enumerated() {
            let nearby = (max(0, n - 1)...min(lines.count - 1, n + 1)).map { String(lines[$0]) }.joined(separator: " ")
            let cited = isCitation(nearby)
            // `the read() syscall`: a system call's name, not a function to call.
            let lineText = String(line)
            let syscallLine = lineText.contains("syscall") || lineText.contains("system call")
            let syscallNear = nearby.contains("syscall") || nearby.contains("system call")
            for (i, c) in line.enumerated() where c == "(" {
                var start = i
                while start > 0, isNameCharacter(line[start - 1]) { start -= 1 }
                guard start < i else { continue }
                let token = String(line[start..<i])
                let after = String(line[(i + 1)...].prefix(3))
                if after.hasPrefix("s)") || after.hasPrefix("es)") { continue }
                guard isCallToken(token) else { continue }
                let bare = !token.contains(".") && !token.contains(":")
                if bare && (cited || syscallLine || (syscallNear && line[(i + 1)...].first == ")")) { continue }
                out.append(token)
            }
        }
        return out
    }

    /// A kernel source path (`mm/page_alloc.c`, `include/linux/gfp.h`) or
    /// "the kernel's" nearby.
    static func isCitation(_ text: String) -> Bool {
        if text.contains("kernel's") || text.contains("in the kernel") { return true }
        return text.range(of: #"[a-z0-9_]+/[a-z0-9_/.-]*\.[ch]\b"#, options: .regularExpression) != nil
    }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == ":")
    }

    /// `name`, `a.b` or `a:b`, each part a Lua name.
    static func isCallToken(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).flatMap { $0.split(separator: ":", omittingEmptySubsequences: false) }
        return !parts.isEmpty && parts.allSatisfy { p in
            guard let first = p.first, first.isLetter || first == "_" else { return false }
            return p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
    }

    static func isKnown(_ token: String, known: Set<String>) -> Bool {
        if known.contains(token) { return true }
        // `malloc(n)` in a user program, `min(a, b)` as notation: kmlab spells
        // them user.malloc and math.min, so the name is not a trap.
        if ["user.", "math."].contains(where: { known.contains($0 + token) }) { return true }
        // A method: `dev:dma_write(`, `s:sub(`: known as a documented method or a string method.
        if let colon = token.lastIndex(of: ":") {
            let method = String(token[token.index(after: colon)...])
            return known.contains("string." + method) || known.contains { $0.hasSuffix(":" + method) || $0.hasSuffix("." + method) }
        }
        // A field of a table the lesson's own code made (`hw.send(`): only the
        // kernel's and Lua's tables are checked.
        if let dot = token.firstIndex(of: ".") {
            let table = String(token[..<dot])
            return !known.contains(table) && !known.contains { $0.hasPrefix(table + ".") }
        }
        return false
    }

    /// kmlab's API, Lua's globals and library functions, the grading
    /// vocabulary, and the lesson's own functions.
    static func knownNames(for lesson: Lesson) -> Set<String> {
        var names = apiNames
        for e in lesson.exercises { if let f = e.expectedName { names.insert(f) } }
        names.formUnion(definedFunctions(in: lesson.text))
        return names
    }

    /// What every lesson may mention: the same for the whole process, made once.
    static let apiNames: Set<String> = {
        var names = Set(["lesson", "question", "task", "exact", "numeric", "choice", "pass", "fail", "partial", "learner_function", "function"])
        if let lua = try? LuaState(profile: .trusted, limits: .unlimited) {
            let kernel = KernelEnvironment(lua: lua)
            names.formUnion(kernel.docs.keys)
            names.formUnion(globalNames(lua))
            lua.close()
        }
        return names
    }()

    /// `name` and `lib.name` for every global and library function of `lua`.
    static func globalNames(_ lua: LuaState) -> Set<String> {
        lua.globalNamesWithFields()
    }

    /// Functions the text's code defines (`function name(`, `local function name(`).
    static func definedFunctions(in text: String) -> Set<String> {
        var out = Set<String>()
        let pattern = #"function\s+([A-Za-z_][A-Za-z0-9_.:]*)\s*\("#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return out }
        let ns = text as NSString
        for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) where m.numberOfRanges > 1 {
            out.insert(ns.substring(with: m.range(at: 1)))
        }
        return out
    }
}
