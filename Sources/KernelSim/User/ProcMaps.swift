/// The /proc/PID/maps line of fs/proc/task_mmu.c (`show_vma_header_prefix`,
/// `show_map_vma`), as pure formatting.
///
///     start-end perms offset major:minor inode [padding] name
///
/// Addresses are at least 8 hex digits, the offset 8, major/minor 2. The
/// line is padded to column `25 + 6 * sizeof(void *)` before the name
/// (`seq_setwidth` + `seq_pad`); an anonymous mapping without a name ends
/// right after the inode and its space.
public enum ProcMaps {
    /// VM_READ | VM_WRITE | VM_EXEC | VM_MAYSHARE, as the perms column shows them.
    public struct Perms: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let read = Perms(rawValue: 1)
        public static let write = Perms(rawValue: 2)
        public static let exec = Perms(rawValue: 4)
        public static let shared = Perms(rawValue: 8)

        /// `rwxp` / `r--s`...
        public var column: String {
            (contains(.read) ? "r" : "-") + (contains(.write) ? "w" : "-")
                + (contains(.exec) ? "x" : "-") + (contains(.shared) ? "s" : "p")
        }
    }

    /// `seq_put_hex_ll(m, delim, v, width)`: lower-case hex, at least `width` digits.
    static func hex(_ v: UInt64, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return h.count >= width ? h : String(repeating: "0", count: width - h.count) + h
    }

    /// One line, without the newline.
    public static func line(start: UInt64, end: UInt64, perms: Perms, offset: UInt64 = 0,
                            major: Int = 0, minor: Int = 0, inode: UInt64 = 0, name: String? = nil,
                            pointerBits: Int) -> String {
        var s = hex(start, 8) + "-" + hex(end, 8) + " " + perms.column + " " + hex(offset, 8)
            + " " + hex(UInt64(major), 2) + ":" + hex(UInt64(minor), 2) + " " + String(inode) + " "
        guard let name, !name.isEmpty else { return s }
        let width = 25 + (pointerBits / 8) * 6 - 1
        if s.count < width { s += String(repeating: " ", count: width - s.count) }
        return s + " " + name
    }
}
