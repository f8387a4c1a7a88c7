/// The model behind `memmap()`: which owner holds the frames of each cell
/// of a grid over physical memory, zone by zone, and where each vmalloc
/// area's pages landed. Text and SVG renderers draw it (MemoryMapText,
/// MemoryMapSVG); tests read it directly.
public struct MemoryMap: Sendable {
    /// max_pfn: frames of RAM.
    public let totalPages: UInt64
    /// Frames one cell stands for (a power of two).
    public let framesPerCell: UInt64
    /// Cells per row.
    public let columns: Int
    /// Rows of cells; a zone always starts a new row.
    public let rows: [Row]
    /// Frames per category over the whole machine.
    public let frameCounts: [MemoryCategory: UInt64]
    /// The vmalloc areas in address order.
    public let vmallocAreas: [VmallocArea]
    public let vmallocStart: UInt64
    public let vmallocEnd: UInt64
    /// Hex digits addresses print with (8 on x86_32, 16 on x86_64).
    public let addressDigits: Int

    public struct Row: Sendable, Equatable {
        /// "DMA", "DMA32", "Normal", "HighMem".
        public let zone: String
        /// Whether this row is the first of its zone.
        public let startsZone: Bool
        public let firstPfn: UInt64
        public var cells: [Cell]
    }

    public struct Cell: Sendable, Equatable {
        /// The owner the cell shows (see `MemoryMap.cell` for the rule; free only when all frames are free).
        public let category: MemoryCategory
        /// That owner holds at least half of the cell's frames.
        public let full: Bool
        /// Frames of the cell that are not free (0 ... framesPerCell).
        public let usedFrames: UInt64
    }

    public struct VmallocArea: Sendable, Equatable {
        public let start: UInt64
        /// Bytes including the guard page (as /proc/vmallocinfo).
        public let size: UInt64
        public let caller: String
        /// The pfn each virtual page maps to, in virtual order.
        public let pfns: [UInt64]
    }

    /// Row and column of the cell holding `pfn`, if it is drawn.
    public func cellPosition(ofPfn pfn: UInt64) -> (row: Int, column: Int)? {
        for (i, r) in rows.enumerated() {
            let span = UInt64(r.cells.count) &* framesPerCell
            if pfn >= r.firstPfn && pfn - r.firstPfn < span {
                return (i, Int((pfn - r.firstPfn) / framesPerCell))
            }
        }
        return nil
    }

    /// The categories present, in legend order.
    public var categoriesPresent: [MemoryCategory] {
        MemoryCategory.allCases.filter { (frameCounts[$0] ?? 0) > 0 }
    }
}

/// Who holds a frame, as the picture groups owners.
public enum MemoryCategory: Int, Sendable, CaseIterable, Comparable {
    /// `user`: pages of the tasks a script runs (`user.malloc`); `otherUser`:
    /// the user pages an aged machine's other processes hold, drawn apart so
    /// the learner finds their own.
    case free, reserved, kernel, pagetable, slab, kmallocLarge, pages, vmalloc, user, otherUser, pagecache, dma, hole

    public var name: String {
        switch self {
        case .free: return "free"
        case .reserved: return "reserved"
        case .kernel: return "kernel"
        case .pagetable: return "page tables"
        case .slab: return "slab"
        case .kmallocLarge: return "kmalloc-large"
        case .pages: return "alloc_pages"
        case .vmalloc: return "vmalloc"
        case .user: return "user"
        case .otherUser: return "other tasks' user"
        case .pagecache: return "page cache"
        case .dma: return "DMA"
        case .hole: return "hole"
        }
    }

    /// The character of a cell this category fills at least half of.
    public var glyph: Character {
        switch self {
        case .free: return "."
        case .reserved: return "#"
        case .kernel: return "K"
        case .pagetable: return "T"
        case .slab: return "S"
        case .kmallocLarge: return "L"
        case .pages: return "P"
        case .vmalloc: return "V"
        case .user: return "U"
        case .otherUser: return "O"
        case .pagecache: return "C"
        case .dma: return "D"
        case .hole: return " "
        }
    }

    /// The character of a cell it holds less than half of.
    public var partialGlyph: Character {
        switch self {
        case .reserved: return "+"
        case .free, .hole: return glyph
        default: return Character(glyph.lowercased())
        }
    }

    /// ANSI SGR colour for terminals.
    public var ansi: String {
        switch self {
        case .free: return "2"          // dim
        case .reserved: return "90"     // grey
        case .kernel: return "37"
        case .pagetable: return "36"
        case .slab: return "32"
        case .kmallocLarge: return "92"
        case .pages: return "34"
        case .vmalloc: return "35;1"
        case .user: return "33;1"
        case .otherUser: return "33;2"
        case .pagecache: return "94"
        case .dma: return "31;1"
        case .hole: return "0"
        }
    }

    /// Fill colour in the SVG.
    public var svgColor: String {
        switch self {
        case .free: return "#eeeeee"
        case .reserved: return "#555555"
        case .kernel: return "#9e9e9e"
        case .pagetable: return "#00838f"
        case .slab: return "#2e7d32"
        case .kmallocLarge: return "#8bc34a"
        case .pages: return "#1565c0"
        case .vmalloc: return "#ad1457"
        case .user: return "#f9a825"
        case .otherUser: return "#f3e5ab"
        case .pagecache: return "#64b5f6"
        case .dma: return "#d32f2f"
        case .hole: return "#ffffff"
        }
    }

    public static func < (a: MemoryCategory, b: MemoryCategory) -> Bool { a.rawValue < b.rawValue }
}
