import Testing
@testable import KernelSim

/// fs/proc/task_mmu.c show_map_vma line format.
@Suite struct UserMapsTests {
    @Test func namedMappingsArePaddedToTheNameColumn64() {
        #expect(ProcMaps.line(start: 0x7ffc0c6dc000, end: 0x7ffc0c6fd000, perms: [.read, .write], name: "[stack]", pointerBits: 64)
                == "7ffc0c6dc000-7ffc0c6fd000 rw-p 00000000 00:00 0                          [stack]")
        #expect(ProcMaps.line(start: 0x55d0c8a00000, end: 0x55d0c8a21000, perms: [.read, .write], name: "[heap]", pointerBits: 64)
                == "55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0                          [heap]")
    }

    @Test func namedMappingsArePaddedToTheNameColumn32() {
        #expect(ProcMaps.line(start: 0x08048000, end: 0x08049000, perms: [.read, .exec], offset: 0, major: 8, minor: 1,
                              inode: 1234, name: "/home/user/a.out", pointerBits: 32)
                == "08048000-08049000 r-xp 00000000 08:01 1234       /home/user/a.out")
    }

    @Test func anonymousMappingsEndAfterTheInode() {
        #expect(ProcMaps.line(start: 0xb7e00000, end: 0xb7e21000, perms: [.read, .write], pointerBits: 32)
                == "b7e00000-b7e21000 rw-p 00000000 00:00 0 ")
        #expect(ProcMaps.line(start: 0x1000, end: 0x2000, perms: [.read, .shared], pointerBits: 32)
                == "00001000-00002000 r--s 00000000 00:00 0 ")
    }
}
