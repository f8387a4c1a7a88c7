import KernelSim
import LuaBridge

/// Argument conversions shared by the kernel API: addresses, sizes, GFP
/// masks, orders and pages, each with an error that names the function and
/// the argument ("kmalloc: size must be a non-negative integer, got string").
extension LuaCall {
    /// An address: a Lua integer holding the 64-bit pattern (x86_64 kernel
    /// addresses are negative as signed integers, as in C).
    func address(_ i: Int32, _ name: String) throws -> UInt64 {
        UInt64(bitPattern: try integer(i, name, expected: "an address (an integer)"))
    }

    /// An address or nil (the C NULL).
    @inline(__always) func optionalAddress(_ i: Int32, _ name: String) throws -> UInt64? {
        // The common case first, in one test (kfree's path).
        if isInteger(i) { return UInt64(bitPattern: uncheckedInteger(i)) }
        return isNil(i) ? nil : try address(i, name)
    }

    /// A pointer the kernel dereferences (memset, memcpy, peek, poke...):
    /// nil is the C NULL, address 0, so passing an unchecked failed
    /// allocation gets the kernel's own NULL-pointer Oops, as in C.
    func pointer(_ i: Int32, _ name: String) throws -> UInt64 {
        isNil(i) ? 0 : try address(i, name)
    }

    /// A size in bytes: a non-negative integer.
    @inline(__always) func size(_ i: Int32, _ name: String = "size") throws -> Int { try count(i, name) }

    /// A GFP mask: an integer made of the `GFP_*` / `__GFP_*` constants. On
    /// an era "2.6" machine the constants have 2.6.18's values, translated
    /// here to the simulator's bits.
    @inline(__always) func gfp(_ i: Int32, _ name: String = "flags", era: Era = .v6) throws -> GFP {
        let expected = "a GFP flags integer such as GFP_KERNEL"
        let v = try integer(i, name, expected: expected)
        guard v >= 0, v <= Int64(UInt32.max) else { throw argumentError(i, name, expected) }
        return era == .v2_6 ? GFPLegacy.modern(UInt32(v)) : GFP(rawValue: UInt32(v))
    }

    /// A page order: 0 or more (the allocator refuses orders it cannot serve).
    func order(_ i: Int32, _ name: String = "order") throws -> Int {
        let v = try integer(i, name, expected: "a non-negative integer")
        guard v >= 0, v <= 64 else { throw argumentError(i, name, "an order between 0 and 64") }
        return Int(v)
    }

    /// A byte value 0...255.
    func byte(_ i: Int32, _ name: String) throws -> UInt8 {
        let v = try integer(i, name, expected: "a byte (an integer 0..255)")
        guard let b = UInt8(exactly: v) else { throw argumentError(i, name, "a byte (an integer 0..255)") }
        return b
    }

    /// A page value (from `alloc_pages`, `virt_to_page`, `pfn_to_page`, ...).
    func page(_ i: Int32, _ name: String = "page") throws -> Page {
        guard let pfn = PageValue.pfn(in: self, at: i) else {
            throw argumentError(i, name, "a page (from alloc_pages, virt_to_page or pfn_to_page)")
        }
        return Page(pfn: pfn)
    }
}

/// Errors from the simulator mapped to Lua errors, for `KernelEnvironment.guardKernel`.
enum SimulatorErrors {
    /// The message for an error the simulator threw, or nil if it is not one of its own.
    static func message(for error: Error, function: String) -> String? {
        switch error {
        // Named after the Lua function called (virt_to_phys, not the __pa it shares code with).
        case let e as KernelArgumentError: return "\(function): \(e.argument) \(e.message)"
        case let e as BootError: return e.description
        case let e as ProcError:
            return "\(function): \(e.reason)"
        case let e as ContextError: return "\(function): \(e.description)"
        default: return nil
        }
    }
}
