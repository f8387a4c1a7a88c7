import Foundation
import Testing

/// The fuzzer is part of the suite: a few hundred generated kernel-API
/// scripts through `kmlab run` and `kmlab check`, none of which may end by
/// a signal, hang, hold memory past its budget, or print differently on a
/// second run. `make fuzz SEED=... COUNT=...` runs as many as you like.
@Suite struct FuzzTests {
    @Test func generatedScriptsNeitherCrashNorHangNorVary() throws {
        let scratch = try ScratchDirectory()
        let crashes = scratch.url.appendingPathComponent("crashes").path
        let r = try KmlabProcess.run(["fuzz", "--seed", "20261207", "--count", "200", "--repeat-every", "8",
                                      "--timeout", "60", "--out", crashes])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("200 cases (225 runs of kmlab), 0 failures"), "\(r.stdout)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []
        for f in files {
            Issue.record("reproducer \(f):\n\((try? String(contentsOfFile: crashes + "/" + f, encoding: .utf8)) ?? "")")
        }
    }

    /// The same seed writes the same scripts; the minimiser keeps a failure.
    @Test func aFailureIsMinimisedToAReproducer() throws {
        let scratch = try ScratchDirectory()
        // A stand-in binary that "crashes" whenever a script makes a
        // protected call: the minimiser must keep one statement that does.
        let fake = try scratch.write("fake-kmlab", """
        #!/bin/sh
        for last; do :; done
        if grep -q 'keep(pcall' "$last"; then kill -SEGV $$; fi
        exit 0
        """)
        chmod(fake, 0o755)
        let crashes = scratch.url.appendingPathComponent("crashes").path
        let r = try KmlabProcess.run(["fuzz", "--seed", "3", "--count", "4", "--repeat-every", "100", "--kmlab", fake,
                                      "--out", crashes])
        #expect(r.status == 1)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []
        #expect(!files.isEmpty, "\(r.stdout)")
        for f in files {
            #expect(f.hasPrefix("signal11-seed3-case"))
            let text = try String(contentsOfFile: crashes + "/" + f, encoding: .utf8)
            let statements = text.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.isEmpty }
            // The prologue (6 lines) and the one statement that still fails.
            #expect(statements.count == 7, "\(text)")
            #expect(statements.last?.contains("keep(pcall") == true, "\(text)")
            #expect(text.contains("-- reproduce: kmlab run"))
        }
    }
}
