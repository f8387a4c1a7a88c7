/// The kernel's string-to-number helpers that a write to a debugfs or
/// sysfs file goes through (lib/kstrtox.c): `kstrtoull`, `kstrtoll` with
/// base 0 (a "0x" prefix means hex, a leading "0" octal), one trailing
/// newline allowed, nothing else; and `kstrtobool` (lib/kstrtox.c).
enum KernelStringParse {
    /// kstrtoull(s, 0, &v): the value, or EINVAL / ERANGE.
    static func unsigned(_ text: [UInt8]) -> Result<UInt64, ParseErrno> {
        var s = text[...]
        if s.first == UInt8(ascii: "+") { s = s.dropFirst() }
        var base: UInt64 = 10
        if s.first == UInt8(ascii: "0") {
            if s.count >= 2, s[s.startIndex + 1] | 0x20 == UInt8(ascii: "x"),
               s.count >= 3, hexValue(s[s.startIndex + 2]) != nil {
                base = 16
                s = s.dropFirst(2)
            } else {
                base = 8
            }
        }
        var value: UInt64 = 0
        var converted = 0
        var overflow = false
        while let c = s.first, let d = hexValue(c), d < base {
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { overflow = true }
            value = a
            converted += 1
            s = s.dropFirst()
        }
        if overflow { return .failure(.ERANGE) }
        if converted == 0 { return .failure(.EINVAL) }
        if s.first == UInt8(ascii: "\n") { s = s.dropFirst() }
        if !s.isEmpty { return .failure(.EINVAL) }
        return .success(value)
    }

    /// kstrtoll(s, 0, &v).
    static func signed(_ text: [UInt8]) -> Result<Int64, ParseErrno> {
        if text.first == UInt8(ascii: "-") {
            switch unsigned(Array(text.dropFirst())) {
            case .failure(let e): return .failure(e)
            case .success(let v):
                if v > UInt64(Int64.max) + 1 { return .failure(.ERANGE) }
                return .success(v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v))
            }
        }
        switch unsigned(text) {
        case .failure(let e): return .failure(e)
        case .success(let v):
            guard v <= UInt64(Int64.max) else { return .failure(.ERANGE) }
            return .success(Int64(v))
        }
    }

    /// kstrtobool(): y/Y/t/T/1 and "on" are true, n/N/f/F/0 and "off"
    /// false; only the first characters count (debugfs reads at most 3).
    static func bool(_ text: [UInt8]) -> Bool? {
        guard let first = text.first else { return nil }
        switch first {
        case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "1"): return true
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "0"): return false
        case UInt8(ascii: "o"), UInt8(ascii: "O"):
            guard text.count > 1 else { return nil }
            switch text[1] | 0x20 {
            case UInt8(ascii: "n"): return true
            case UInt8(ascii: "f"): return false
            default: return nil
            }
        default: return nil
        }
    }

    static func hexValue(_ c: UInt8) -> UInt64? {
        switch c {
        case 48...57: return UInt64(c - 48)
        case 97...102: return UInt64(c - 87)
        case 65...70: return UInt64(c - 55)
        default: return nil
        }
    }

    /// The errors the parsers report (a subset of `Errno`, Error-conforming).
    enum ParseErrno: Error {
        case EINVAL, ERANGE
        var errno: Errno { self == .EINVAL ? .EINVAL : .ERANGE }
    }
}
