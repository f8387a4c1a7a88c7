import Foundation
import KernelLua
import Testing

/// docs/api.md is `kmlab doc --markdown`'s output, kept current: a name
/// added, removed or re-documented without regenerating it fails here.
@Suite struct APIReferenceTests {
    static let committed = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/api.md")

    @Test func committedReferenceMatchesTheDocs() throws {
        let h = try KernelHarness()
        let generated = h.env.apiReferenceMarkdown()
        let onDisk = try String(contentsOf: APIReferenceTests.committed, encoding: .utf8)
        // Compared line by line, so a stale page names its first wrong line
        // instead of printing two 2,700-line strings.
        let want = generated.split(separator: "\n", omittingEmptySubsequences: false)
        let have = onDisk.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDifference = (0..<min(want.count, have.count)).first { want[$0] != have[$0] } ?? (want.count == have.count ? nil : min(want.count, have.count))
        #expect(firstDifference == nil, """
            docs/api.md is stale: run `make docs` (kmlab doc --markdown > docs/api.md). \
            First difference at line \((firstDifference ?? 0) + 1): \
            expected \(firstDifference.flatMap { $0 < want.count ? String(want[$0]) : nil } ?? "<end of file>"), \
            found \(firstDifference.flatMap { $0 < have.count ? String(have[$0]) : nil } ?? "<end of file>")
            """)
    }

    @Test func everyDocumentedNameHasAnEntry() throws {
        let h = try KernelHarness()
        let page = h.env.apiReferenceMarkdown()
        let missing = h.env.docs.keys.filter { !page.contains("### `\($0)`\n") }
        #expect(missing.isEmpty, "no entry for: \(missing.sorted())")
        // Every topic in the index links to a heading that exists.
        for doc in Set(h.env.docs.values.map(\.topic)) {
            #expect(page.contains("\n## \(doc)\n"), "no section for topic \(doc)")
        }
    }
}
