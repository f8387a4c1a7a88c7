import Testing
import KernelSim
import LuaBridge

/// User space from Lua: lazy pages (mm/memory.c do_anonymous_page),
/// copy_to_user/copy_from_user/access_ok (include/linux/uaccess.h).
@Suite struct UserScenarioTests {
    @Test func userPagesFaultInOnlyWhenTouched() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local f0 = stats().page_faults
            local u = user.malloc(3 * PAGE_SIZE)
            local f1 = stats().page_faults
            user.poke(u + PAGE_SIZE + 5, "x")
            local f2 = stats().page_faults
            user.poke(u + PAGE_SIZE + 6, "y")
            local f3 = stats().page_faults
            local zero = user.peek(u + 2 * PAGE_SIZE)
            local f4 = stats().page_faults
            user.free(u)
            return f1 - f0, f2 - f1, f3 - f2, zero, f4 - f3
            """)
        #expect(v == [.integer(0), .integer(1), .integer(0), .integer(0), .integer(1)])
        #expect(h.reports.isEmpty)
    }

    @Test func aFaultedInPageIsAHighuserMovableFrame() throws {
        let h = try KernelHarness()
        let m = h.machine
        let before = try m.proc("/proc/meminfo")
        _ = h.values("u = user.malloc(100); user.poke(u, 1)")
        #expect(m.userSpace.residentPages == 1)
        let pfn = try #require(m.userSpace.residentFrames.first.flatMap { m.pageInfo(pfn: $0) })
        #expect(pfn.owner == "user")
        #expect(pfn.zone == "HighMem") // GFP_HIGHUSER_MOVABLE prefers highmem on x86_32
        #expect(try before != m.proc("/proc/meminfo"))
    }

    @Test func procSelfMapsShowsTheAreas() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local a = user.malloc(100)
            local b = user.malloc(8192)
            return string.format("%x %x", a, b), proc("/proc/self/maps")
            """)
        #expect(v?.first == .string("b7eff000 b7efd000"))
        let maps = try #require(v?.last?.text)
        #expect(maps == """
            08048000-08049000 r-xp 00000000 08:01 131090     /home/user/a.out
            08049000-0804a000 rw-p 00001000 08:01 131090     /home/user/a.out
            b7efd000-b7f00000 rw-p 00000000 00:00 0 \nbffdf000-c0000000 rw-p 00000000 00:00 0          [stack]

            """)
    }

    @Test func copyToUserOfAKernelAddressIsRefused() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local k = kmalloc(64, GFP_KERNEL)
            local victim = kmalloc(64, GFP_KERNEL)
            memset(victim, 0x41, 64)
            SYSCALL_DEFINE("leak", function(ubuf, n)
              if copy_to_user(ubuf, k, n) ~= 0 then return -EFAULT end
              return n
            end)
            local r = user.syscall("leak", victim, 64)
            local ok = access_ok(victim, 64)
            local intact = peek(victim, 64) == string.rep("A", 64)
            kfree(k) kfree(victim)
            return r, ok, intact, access_ok(0x1000, 64)
            """)
        #expect(v == [.integer(-14), .boolean(false), .boolean(true), .boolean(true)])
        #expect(h.reports.isEmpty)
    }

    @Test func copyToUserAndBackThroughASyscall() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local k = kzalloc(32, GFP_KERNEL)
            poke(k, "hello from the kernel")
            SYSCALL_DEFINE("read", function(ubuf, n) return n - copy_to_user(ubuf, k, n) end)
            SYSCALL_DEFINE("write", function(ubuf, n) return n - copy_from_user(k, ubuf, n) end)
            local u = user.malloc(64)
            local got = user.syscall("read", u, 21)
            local text = user.peek(u, 21)
            user.poke(u, "HELLO")
            user.syscall("write", u, 5)
            local back = peek(k, 5)
            kfree(k) user.free(u)
            return got, text, back
            """)
        #expect(v == [.integer(21), .string("hello from the kernel"), .string("HELLO")])
        #expect(h.reports.isEmpty)
    }

    @Test func aPartialCopyFromUserZeroesTheRest() throws {
        let h = try KernelHarness()
        let v = h.values("""
            local k = kmalloc(8192, GFP_KERNEL)
            memset(k, 0xff, 8192)
            local u = user.malloc(4096)
            user.poke(u + 4090, "abcdef")
            SYSCALL_DEFINE("w", function(ubuf) return copy_from_user(k, ubuf, 100) end)
            local left = user.syscall("w", u + 4090)
            local head, tail = peek(k, 6), peek(k + 6, 94)
            kfree(k)
            return left, head, tail == string.rep("\\0", 94), peek(k + 100 - 0, 1) ~= nil
            """)
        #expect(v?.prefix(3) == [.integer(94), .string("abcdef"), .boolean(true)])
    }

    @Test func copyToUserUnderASpinlockIsTheSleepingBug() throws {
        let h = try KernelHarness()
        h.run("""
            local k = kzalloc(16, GFP_KERNEL)
            local l = spin_lock_init()
            SYSCALL_DEFINE("r", function(ubuf) spin_lock(l); local left = copy_to_user(ubuf, k, 16); spin_unlock(l); return left end)
            local u = user.malloc(16)
            result = user.syscall("r", u)
            kfree(k)
            """)
        let r = try #require(h.reports.first)
        #expect(r.kind == .sleepingInAtomic)
        #expect(r.headline == "BUG: sleeping function called from invalid context at include/linux/uaccess.h:192")
        #expect(r.lines[1] == "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 413, name: a.out")
        #expect(r.fields["comm"] == "a.out")
        // faults cannot be handled in atomic context: the page was never touched, nothing copied
        #expect(h.values("return result") == [.integer(16)])
    }

    @Test func badUserAccessesAreClearErrors() throws {
        let h = try KernelHarness()
        let segv = h.errorMessage("user.poke(0xc0001000, 1)")
        #expect(segv?.contains("segmentation fault") == true && segv?.contains("kernel address") == true)
        #expect(h.machine.log.text.contains("a.out[413]: segfault at c0001000 ip 0804841d sp bfffff2c error 6 in a.out[8048000+1000]"))
        #expect(h.errorMessage("user.poke(0x08048000, 1)")?.contains("does not allow writing") == true)
        #expect(h.errorMessage("user.free(1234)")?.contains("free(): invalid pointer") == true)
        #expect(h.errorMessage("local u = user.malloc(10); user.free(u); user.free(u)")?.contains("invalid pointer") == true)
        #expect(h.errorMessage("user.malloc('x')")?.contains("user.malloc") == true)
        #expect(h.errorMessage("user.peek(0x08048000, -1)") != nil)
        #expect(h.values("return user.malloc(1 << 40)") == [.nil])
    }
}
