import Foundation
import Testing

/// The README's tiny NIC driver (examples/nic.lua) runs clean under `kmlab run`.
@Suite struct NicExampleTests {
    @Test func theNicExampleRunsCleanWithTheExpectedOutput() throws {
        let script = KmlabProcess.packageRoot.appendingPathComponent("examples/nic.lua").path
        let r = try KmlabProcess.run(["run", script])
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == """
            tinynic 0000:00:03.0: 4 rx buffers, ring at dma 0x1a00000
            recv: 18 bytes: ping from 10.0.0.2
            recv: 12 bytes: second frame
            recv: -11 (EAGAIN)
            page faults: 1
             19:          2   IO-APIC  19-fasteoi   tinynic

            """)
    }

    @Test func theReadmeShowsTheSameOutput() throws {
        let readme = try String(contentsOf: KmlabProcess.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("## Example: a tiny NIC driver"))
        #expect(readme.contains("recv: 18 bytes: ping from 10.0.0.2\nrecv: 12 bytes: second frame"))
    }
}
