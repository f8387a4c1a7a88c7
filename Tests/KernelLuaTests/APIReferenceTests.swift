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
        #expect(onDisk == generated, "docs/api.md is stale: run `make docs` (kmlab doc --markdown > docs/api.md)")
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
