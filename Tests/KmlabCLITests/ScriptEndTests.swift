import Testing

/// What `kmlab run` does once a script's top level returns: deferred work
/// runs (as after a module's init), then kmemleak reports objects nothing
/// points to (mm/kmemleak.c print_unreferenced); a script's globals are roots.
@Suite struct ScriptEndTests {
    @Test func anObjectNothingPointsToIsReportedAsUnreferenced() throws {
        let dir = try ScratchDirectory()
        try dir.write("leak.lua", "local p = kmalloc(100, GFP_KERNEL)\npoke(p, 'hello')\n")
        let r = try KmlabProcess.run(["run", "leak.lua"], currentDirectory: dir.url)
        #expect(r.status == 0)
        #expect(r.stderr.contains("unreferenced object 0xc1a00000 (size 128):"))
        #expect(r.stderr.contains("comm \"insmod\", pid 412"))
        #expect(r.stderr.contains("68 65 6c 6c 6f"))
        #expect(r.stderr.contains("[leak.lua:1]"))
    }

    @Test func objectsHeldInGlobalsOrReachableFromThemAreNotLeaks() throws {
        let dir = try ScratchDirectory()
        try dir.write("held.lua", """
        ring = { vmalloc(3 * PAGE_SIZE), kmalloc(64, GFP_KERNEL) }
        head = kmalloc(32, GFP_KERNEL)
        -- head points to a third object: reachable through simulated memory
        local third = kmalloc(16, GFP_KERNEL)
        poke(head, string.pack("<I4", third))
        """)
        let r = try KmlabProcess.run(["run", "held.lua"], currentDirectory: dir.url)
        #expect(r.status == 0)
        #expect(!r.stderr.contains("unreferenced object"), "\(r.stderr)")
    }

    @Test func freedObjectsAreNotReported() throws {
        let dir = try ScratchDirectory()
        try dir.write("clean.lua", "local p = kmalloc(100, GFP_KERNEL) kfree(p) local v = vmalloc(8192) vfree(v)")
        let r = try KmlabProcess.run(["run", "clean.lua"], currentDirectory: dir.url)
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
    }

    @Test func workQueuedAtTopLevelRunsWhenTheScriptReturns() throws {
        let dir = try ScratchDirectory()
        try dir.write("work.lua", "schedule_work(function() print('work ran in ' .. current.comm) end)\nprint('init done')")
        let r = try KmlabProcess.run(["run", "work.lua"], currentDirectory: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("init done\nwork ran in kworker/"), "\(r.stdout)")
    }
}
