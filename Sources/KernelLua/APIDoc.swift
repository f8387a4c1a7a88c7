/// The documentation of one Lua-visible name: what `help(name)` in the REPL
/// and `kmlab doc NAME` print. Every name a learner can call has one (a test
/// checks the list in ../shared/DESIGN.md against `KernelEnvironment.docs`).
public struct APIDoc: Sendable, Equatable {
    /// The topic `help()` lists it under ("Allocation", "Contexts", ...).
    public var topic: String
    /// How it is called: `kmalloc(size, flags) -> address | nil`.
    public var signature: String
    /// What it does, in a paragraph.
    public var summary: String
    /// In which contexts it is legal (process only, any context, ...).
    public var context: String
    /// What it returns or does on failure.
    public var failure: String
    /// The real kernel counterpart (file or function) it models.
    public var kernel: String

    public init(topic: String, signature: String, summary: String, context: String = "any context",
                failure: String = "", kernel: String = "") {
        self.topic = topic
        self.signature = signature
        self.summary = summary
        self.context = context
        self.failure = failure
        self.kernel = kernel
    }

    /// The text `help(name)` prints.
    /// Paragraphs are wrapped at word boundaries to `width` columns, so the
    /// page reads well in an 80-column terminal and in `kmlab doc`.
    public func render(name: String, width: Int = 78) -> String {
        var lines = [signature, ""] + APIDoc.wrap(summary, width: width)
        if !context.isEmpty { lines += [""] + APIDoc.wrap("Context: " + context, width: width) }
        if !failure.isEmpty { lines += APIDoc.wrap("On failure: " + failure, width: width) }
        if !kernel.isEmpty { lines += APIDoc.wrap("Kernel: " + kernel, width: width) }
        return lines.joined(separator: "\n")
    }

    /// Greedy word wrap; a word longer than the width stands on a line of its own.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if line.isEmpty {
                line = String(word)
            } else if line.count + 1 + word.count <= width {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
