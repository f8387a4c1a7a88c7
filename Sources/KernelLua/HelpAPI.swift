import KernelSim
import LuaBridge

/// `help()` and the texts it prints, shared by the REPL (`help(kmalloc)`,
/// `.help`), `kmlab doc NAME` and tab completion. Everything is read from
/// `KernelEnvironment.docs`, so names added by any API file appear here
/// without a list to keep in step.
enum HelpAPI {
    static func install(into env: KernelEnvironment) {
        env.define("help", doc: APIDoc(
            topic: "Machine", signature: "help([name])",
            summary: "Without an argument, lists every kernel API name by topic. With a function or a name (`help(kmalloc)`, `help \"GFP_ATOMIC\"`, `help \"user.malloc\"`), prints its documentation: signature, what it does, where it is legal, what it returns on failure, and the real kernel counterpart.",
            failure: "an error naming the unknown name, with the closest documented names")) { call in
            if call.isNil(1) {
                call.state.output(Array((env.helpIndex() + "\n").utf8))
                return 0
            }
            let name: String
            if call.kind(1) == .string {
                name = try call.string(1, "name")
            } else if let found = env.globalName(of: call, at: 1) {
                name = found
            } else {
                throw call.error("no documentation for a \(call.typeName(1)) value; try help() for the list")
            }
            guard let text = env.helpText(for: name) else {
                throw call.error(env.unknownNameMessage(name))
            }
            call.state.output(Array((text + "\n").utf8))
            return 0
        }
    }
}

extension KernelEnvironment {
    /// `help()`'s listing: names grouped by topic, alphabetically.
    public func helpIndex() -> String {
        var byTopic: [String: [String]] = [:]
        for (name, doc) in docs { byTopic[doc.topic, default: []].append(name) }
        var lines = ["kmlab kernel API (help(name) or help \"NAME\" for details):"]
        for topic in byTopic.keys.sorted() {
            lines.append("")
            lines.append(topic + ":")
            let names = (byTopic[topic] ?? []).sorted()
            var line = " "
            for n in names {
                if line.count + n.count + 1 > 78 { lines.append(line); line = " " }
                line += " " + n
            }
            if line.count > 1 { lines.append(line) }
        }
        return lines.joined(separator: "\n")
    }

    /// `help(name)`'s text, or nil for an undocumented name.
    public func helpText(for name: String) -> String? {
        docs[name].map { name + "\n" + String(repeating: "=", count: name.count) + "\n" + $0.render(name: name) }
    }

    /// Documented names close to `name` (typos, wrong case, a missing `__`),
    /// best first, at most `limit`.
    public func suggestions(for name: String, limit: Int = 3) -> [String] {
        let wanted = name.lowercased()
        var scored: [(Int, String)] = []
        for candidate in docs.keys {
            let c = candidate.lowercased()
            var score = editDistance(wanted, c)
            if c.hasPrefix(wanted) || wanted.hasPrefix(c) || c.contains(wanted) { score = min(score, 1) }
            if score <= max(2, wanted.count / 3) { scored.append((score, candidate)) }
        }
        scored.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        return scored.prefix(limit).map(\.1)
    }

    /// "no documentation for 'kmaloc'; did you mean kmalloc? (help() lists every name)".
    public func unknownNameMessage(_ name: String) -> String {
        let close = suggestions(for: name)
        let hint = close.isEmpty ? "" : "; did you mean " + close.joined(separator: ", ") + "?"
        return "no documentation for '\(name)'\(hint) (help() lists every name)"
    }

    /// The global name under which the function at `index` is installed (raw lookup).
    func globalName(of call: LuaCall, at index: Int32) -> String? {
        for name in docs.keys.sorted() {
            if name.contains(".") {
                let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                if call.globalIs(parts[0], field: parts[1], sameAs: index) { return name }
            } else if call.kind(index) == .function, call.globalIs(name, sameAs: index) {
                return name
            }
        }
        return nil
    }
}

/// Levenshtein distance over Unicode scalars (names are short).
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}
