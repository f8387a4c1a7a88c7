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
    public func render(name: String) -> String {
        var lines = [signature, "", summary]
        if !context.isEmpty { lines += ["", "Context: " + context] }
        if !failure.isEmpty { lines.append("On failure: " + failure) }
        if !kernel.isEmpty { lines.append("Kernel: " + kernel) }
        return lines.joined(separator: "\n")
    }
}
