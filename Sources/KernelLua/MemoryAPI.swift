import KernelSim
import LuaBridge

/// Allocation, addresses and pages, and memory contents (issue 3): glue from
/// Lua to the memory model in KernelSim/Memory. Semantics: ../shared/DESIGN.md.
enum MemoryAPI {
    static func install(into env: KernelEnvironment) {
        PageValue.install(into: env)
        installAllocation(into: env)
        installPages(into: env)
        installAddresses(into: env)
        installContents(into: env)
        MachineStateAPI.install(into: env)
    }

    // MARK: Allocation

    static let sleeps = "process context only: it may sleep unless the flags lack __GFP_DIRECT_RECLAIM (GFP_ATOMIC, GFP_NOWAIT); from an interrupt handler or under a spinlock use GFP_ATOMIC"

    static func installAllocation(into env: KernelEnvironment) {
        let topic = "Allocation"
        env.define("kmalloc", doc: APIDoc(topic: topic, signature: "kmalloc(size, flags) -> address | nil",
            summary: "Allocates size bytes from the slab allocator: the request is rounded up to a size class (kmalloc-8 ... kmalloc-8k, including 96 and 192), and requests above KMALLOC_MAX_CACHE_SIZE come whole pages from the page allocator. The memory is physically contiguous and lives in the direct map (never highmem). It is not zeroed: it holds whatever the frame held before.",
            context: sleeps, failure: "nil (the C NULL), with a page allocation failure warning unless __GFP_NOWARN; nil above KMALLOC_MAX_SIZE",
            kernel: "include/linux/slab.h kmalloc(), mm/slub.c")) { call in
            call.push(address: try env.machine.kmalloc(try call.size(1), try call.gfp(2, era: env.machine.config.era)))
            return 1
        }
        env.define("kzalloc", doc: APIDoc(topic: topic, signature: "kzalloc(size, flags) -> address | nil",
            summary: "kmalloc with __GFP_ZERO: the memory is zeroed. Use it whenever the memory may reach user space or a device, so stale data cannot leak.",
            context: sleeps, failure: "nil, as kmalloc", kernel: "include/linux/slab.h kzalloc()")) { call in
            call.push(address: try env.machine.kzalloc(try call.size(1), try call.gfp(2, era: env.machine.config.era)))
            return 1
        }
        env.define("kcalloc", doc: APIDoc(topic: topic, signature: "kcalloc(n, size, flags) -> address | nil",
            summary: "Allocates a zeroed array of n elements of size bytes. The multiplication is overflow-checked: an n*size that overflows returns nil instead of a short buffer.",
            context: sleeps, failure: "nil on overflow or when the allocation fails", kernel: "include/linux/slab.h kcalloc()")) { call in
            call.push(address: try env.machine.kcalloc(try call.size(1, "n"), try call.size(2), try call.gfp(3, era: env.machine.config.era)))
            return 1
        }
        env.define("kmalloc_array", doc: APIDoc(topic: topic, signature: "kmalloc_array(n, size, flags) -> address | nil",
            summary: "Allocates an array of n elements of size bytes (not zeroed), with the multiplication overflow-checked.",
            context: sleeps, failure: "nil on overflow or failure", kernel: "include/linux/slab.h kmalloc_array()")) { call in
            call.push(address: try env.machine.kmallocArray(try call.size(1, "n"), try call.size(2), try call.gfp(3, era: env.machine.config.era)))
            return 1
        }
        env.define("krealloc", doc: APIDoc(topic: topic, signature: "krealloc(p, size, flags) -> address | nil",
            summary: "Resizes a kmalloc allocation: returns p itself when the object's size class already fits, else a new object with the old contents copied and p freed. krealloc(nil, size, flags) is kmalloc.",
            context: sleeps, failure: "nil, and p is left untouched", kernel: "mm/slab_common.c krealloc()")) { call in
            let p = try call.optionalAddress(1, "p")
            let size = try call.size(2), flags = try call.gfp(3, era: env.machine.config.era)
            call.push(address: try p.map { try env.machine.krealloc($0, size, flags) } ?? env.machine.kmalloc(size, flags))
            return 1
        }
        env.define("kfree", doc: APIDoc(topic: topic, signature: "kfree(p)",
            summary: "Frees memory from kmalloc and friends. kfree(nil) does nothing. The object goes back to the front of its cache's freelist (the next kmalloc of that size class gets it back) and keeps its old bytes except for the freelist pointer written into it.",
            context: "any context", failure: "a double free, a pointer kmalloc never returned or a vmalloc address gets the debug kernel's KASAN report",
            kernel: "mm/slub.c kfree()")) { call in
            if let p = try call.optionalAddress(1, "p") { try env.machine.kfree(p) }
            return 0
        }
        env.define("ksize", doc: APIDoc(topic: topic, signature: "ksize(p) -> integer",
            summary: "The usable size of a kmalloc object: its cache's object size (kmalloc(100) lives in kmalloc-128, so ksize is 128), or PAGE_SIZE << order for large allocations.",
            failure: "a report for a pointer the allocator does not know", kernel: "mm/slab_common.c ksize()")) { call in
            call.push(Int64(try env.machine.ksize(try call.address(1, "p"))))
            return 1
        }
        env.define("vmalloc", doc: APIDoc(topic: topic, signature: "vmalloc(size) -> address | nil",
            summary: "Allocates size bytes (rounded up to pages) that are virtually contiguous but physically scattered: one order-0 page at a time (highmem first on 32-bit), each mapped by its own PTE in the vmalloc area, with a guard page after the area. Costs page-table writes and TLB misses that kmalloc memory does not.",
            context: "process context only: vmalloc always sleeps (GFP_KERNEL inside)", failure: "nil with a warning",
            kernel: "mm/vmalloc.c vmalloc()")) { call in
            call.push(address: try env.machine.vmalloc(try call.size(1)))
            return 1
        }
        env.define("vzalloc", doc: APIDoc(topic: topic, signature: "vzalloc(size) -> address | nil",
            summary: "vmalloc, zeroed.", context: "process context only", failure: "nil",
            kernel: "mm/vmalloc.c vzalloc()")) { call in
            call.push(address: try env.machine.vzalloc(try call.size(1)))
            return 1
        }
        env.define("vfree", doc: APIDoc(topic: topic, signature: "vfree(p)",
            summary: "Frees a vmalloc area: unmaps its PTEs, flushes the TLB and frees the pages. vfree(nil) does nothing. With more than one CPU (boot{cpus=N}) the flush is deferred: the area leaves /proc/vmallocinfo and its pages are freed at once, but its address range is purged lazily, in batches, with one TLB-flush IPI per other CPU per batch (see vm_unmap_aliases).",
            context: "process context (from interrupt context the kernel defers it to a workqueue)",
            failure: "a report for an address vmalloc never returned (e.g. a kmalloc address)", kernel: "mm/vmalloc.c vfree()")) { call in
            if let p = try call.optionalAddress(1, "p") { try env.machine.vfree(p) }
            return 0
        }
        env.define("kvmalloc", doc: APIDoc(topic: topic, signature: "kvmalloc(size, flags) -> address | nil",
            summary: "Tries kmalloc first (without retrying hard and without warnings for large sizes) and falls back to vmalloc: physically contiguous when it is cheap, virtually contiguous otherwise. Free with kvfree.",
            context: sleeps, failure: "nil", kernel: "mm/util.c kvmalloc_node()")) { call in
            call.push(address: try env.machine.kvmalloc(try call.size(1), try call.gfp(2, era: env.machine.config.era)))
            return 1
        }
        env.define("kvfree", doc: APIDoc(topic: topic, signature: "kvfree(p)",
            summary: "Frees memory from kvmalloc: kfree or vfree, whichever allocated it. kvfree(nil) does nothing.",
            kernel: "mm/util.c kvfree()")) { call in
            if let p = try call.optionalAddress(1, "p") { try env.machine.kvfree(p) }
            return 0
        }
        env.define("alloc_pages", doc: APIDoc(topic: topic, signature: "alloc_pages(flags, order) -> page | nil",
            summary: "Allocates 2^order physically contiguous page frames from the buddy allocator and returns the first page. With __GFP_HIGHMEM (GFP_HIGHUSER) the frames may be in highmem, where they have no kernel address until kmap'ed.",
            context: sleeps, failure: "nil with a page allocation failure warning unless __GFP_NOWARN", kernel: "mm/page_alloc.c alloc_pages()")) { call in
            PageValue.push(try env.machine.allocPages(try call.gfp(1, era: env.machine.config.era), order: try call.order(2)), on: call)
            return 1
        }
        env.define("alloc_page", doc: APIDoc(topic: topic, signature: "alloc_page(flags) -> page | nil",
            summary: "alloc_pages(flags, 0): one page frame.", context: sleeps, failure: "nil",
            kernel: "include/linux/gfp.h alloc_page()")) { call in
            PageValue.push(try env.machine.allocPage(try call.gfp(1, era: env.machine.config.era)), on: call)
            return 1
        }
        env.define("__free_pages", doc: APIDoc(topic: topic, signature: "__free_pages(page, order)",
            summary: "Returns 2^order frames starting at page to the buddy allocator, which merges them with free buddies into larger blocks.",
            failure: "a report for a wrong order or a page that is not allocated", kernel: "mm/page_alloc.c __free_pages()")) { call in
            try env.machine.freePages(try call.page(1), order: try call.order(2))
            return 0
        }
        env.define("__get_free_pages", doc: APIDoc(topic: topic, signature: "__get_free_pages(flags, order) -> address | nil",
            summary: "alloc_pages and return the kernel virtual address of the first page (lowmem only: highmem flags are refused as in the kernel).",
            context: sleeps, failure: "nil", kernel: "mm/page_alloc.c __get_free_pages()")) { call in
            call.push(address: try env.machine.getFreePages(try call.gfp(1, era: env.machine.config.era), order: try call.order(2)))
            return 1
        }
        env.define("get_zeroed_page", doc: APIDoc(topic: topic, signature: "get_zeroed_page(flags) -> address | nil",
            summary: "One zeroed lowmem page, by address.", context: sleeps, failure: "nil",
            kernel: "mm/page_alloc.c get_zeroed_page()")) { call in
            call.push(address: try env.machine.getZeroedPage(try call.gfp(1, era: env.machine.config.era)))
            return 1
        }
        env.define("free_pages", doc: APIDoc(topic: topic, signature: "free_pages(addr, order)",
            summary: "Frees 2^order pages given by kernel virtual address (from __get_free_pages).",
            kernel: "mm/page_alloc.c free_pages()")) { call in
            try env.machine.freePagesAddress(try call.address(1, "addr"), order: try call.order(2))
            return 0
        }
        env.define("free_page", doc: APIDoc(topic: topic, signature: "free_page(addr)",
            summary: "free_pages(addr, 0).", kernel: "include/linux/gfp.h free_page()")) { call in
            try env.machine.freePage(try call.address(1, "addr"))
            return 0
        }
    }

    // MARK: Pages

    static func installPages(into env: KernelEnvironment) {
        let topic = "Addresses and pages"
        env.define("virt_to_page", doc: APIDoc(topic: topic, signature: "virt_to_page(addr) -> page",
            summary: "The page frame behind a direct-map (lowmem) kernel address: pfn_to_page(__pa(addr) >> PAGE_SHIFT). Only valid for the direct map: for vmalloc memory use vmalloc_to_page.",
            failure: "the CONFIG_DEBUG_VIRTUAL BUG for an address outside the direct map", kernel: "arch/x86/include/asm/page.h virt_to_page()")) { call in
            PageValue.push(try env.machine.virtToPage(try call.address(1, "addr")), on: call)
            return 1
        }
        env.define("vmalloc_to_page", doc: APIDoc(topic: topic, signature: "vmalloc_to_page(addr) -> page | nil",
            summary: "Walks the kernel page tables to find the frame a vmalloc address maps to. Consecutive vmalloc pages usually map to scattered frames.",
            failure: "nil when nothing is mapped there", kernel: "mm/vmalloc.c vmalloc_to_page()")) { call in
            PageValue.push(try env.machine.vmallocToPage(try call.address(1, "addr")), on: call)
            return 1
        }
        env.define("vmalloc_to_pfn", doc: APIDoc(topic: topic, signature: "vmalloc_to_pfn(addr) -> pfn",
            summary: "page_to_pfn(vmalloc_to_page(addr)).", failure: "0 when nothing is mapped", kernel: "mm/vmalloc.c vmalloc_to_pfn()")) { call in
            call.push(Int64(try env.machine.vmallocToPfn(try call.address(1, "addr"))))
            return 1
        }
        env.define("page_to_pfn", doc: APIDoc(topic: topic, signature: "page_to_pfn(page) -> pfn",
            summary: "The page frame number: the physical address divided by PAGE_SIZE.", kernel: "include/asm-generic/memory_model.h")) { call in
            call.push(Int64(try call.page(1).pfn))
            return 1
        }
        env.define("pfn_to_page", doc: APIDoc(topic: topic, signature: "pfn_to_page(pfn) -> page | nil",
            summary: "The page of a frame number.", failure: "nil for a pfn beyond the machine's RAM",
            kernel: "include/asm-generic/memory_model.h")) { call in
            let v = try call.integer(1, "pfn", expected: "a page frame number (a non-negative integer)")
            guard v >= 0 else { throw call.argumentError(1, "pfn", "a page frame number (a non-negative integer)") }
            PageValue.push(env.machine.pfnToPage(UInt64(v)), on: call)
            return 1
        }
        env.define("page_to_phys", doc: APIDoc(topic: topic, signature: "page_to_phys(page) -> physical address",
            summary: "pfn << PAGE_SHIFT.", kernel: "arch/x86/include/asm/io.h page_to_phys()")) { call in
            call.push(address: env.machine.pageToPhys(try call.page(1)))
            return 1
        }
        env.define("page_address", doc: APIDoc(topic: topic, signature: "page_address(page) -> address | nil",
            summary: "The kernel virtual address of a page: in the direct map for lowmem; for a highmem page only while it is kmap'ed, else nil.",
            failure: "nil for an unmapped highmem page", kernel: "mm/highmem.c page_address()")) { call in
            call.push(address: env.machine.pageAddress(try call.page(1)))
            return 1
        }
        env.define("kmap", doc: APIDoc(topic: topic, signature: "kmap(page) -> address",
            summary: "Maps a page into the kernel's address space: a lowmem page already has its direct-map address; a highmem page gets one of LAST_PKMAP (1024) slots in the pkmap area until kunmap. May sleep waiting for a slot.",
            context: "process context only (it may sleep); use kmap_local_page elsewhere", kernel: "include/linux/highmem-internal.h kmap()")) { call in
            call.push(address: try env.machine.kmap(try call.page(1)))
            return 1
        }
        env.define("kunmap", doc: APIDoc(topic: topic, signature: "kunmap(page)",
            summary: "Releases a kmap of a highmem page.", kernel: "mm/highmem.c kunmap_high()")) { call in
            try env.machine.kunmap(try call.page(1))
            return 0
        }
        env.define("kmap_local_page", doc: APIDoc(topic: topic, signature: "kmap_local_page(page) -> address",
            summary: "A short-lived, CPU-local mapping of a page (a fixmap slot for highmem), usable in any context; unmap in reverse order with kunmap_local.",
            kernel: "include/linux/highmem.h kmap_local_page()")) { call in
            call.push(address: try env.machine.kmapLocalPage(try call.page(1)))
            return 1
        }
        env.define("kunmap_local", doc: APIDoc(topic: topic, signature: "kunmap_local(addr)",
            summary: "Releases the most recent kmap_local_page mapping.", kernel: "include/linux/highmem.h kunmap_local()")) { call in
            try env.machine.kunmapLocal(try call.address(1, "addr"))
            return 0
        }
        env.define("PageHighMem", doc: APIDoc(topic: topic, signature: "PageHighMem(page) -> boolean",
            summary: "Whether the page is in ZONE_HIGHMEM (never on x86_64).", kernel: "include/linux/page-flags.h PageHighMem()")) { call in
            call.push(env.machine.pageHighMem(try call.page(1)))
            return 1
        }
        env.define("page_zonenum", doc: APIDoc(topic: topic, signature: "page_zonenum(page) -> integer",
            summary: "The index of the page's zone (ZONE_DMA is 0; then ZONE_NORMAL and ZONE_HIGHMEM on x86_32, ZONE_DMA32 and ZONE_NORMAL on x86_64).",
            kernel: "include/linux/mm.h page_zonenum()")) { call in
            call.push(Int64(env.machine.pageZonenum(try call.page(1))))
            return 1
        }
        env.define("page_zone", doc: APIDoc(topic: topic, signature: "page_zone(page) -> zone name",
            summary: "The name of the page's zone as /proc/buddyinfo prints it: \"DMA\", \"DMA32\", \"Normal\" or \"HighMem\".",
            kernel: "include/linux/mm.h page_zone()")) { call in
            call.push(env.machine.pageZoneName(try call.page(1)))
            return 1
        }
    }

    // MARK: Addresses

    static func installAddresses(into env: KernelEnvironment) {
        let topic = "Addresses and pages"
        let paDoc = "Physical address of a direct-map (lowmem) kernel address: addr - PAGE_OFFSET. With CONFIG_DEBUG_VIRTUAL (always on here) an address outside the direct map (vmalloc, a highmem kmap, user space) is a BUG, as on a debug kernel; without it the result would silently be wrong."
        for name in ["__pa", "virt_to_phys"] {
            env.define(name, doc: APIDoc(topic: topic, signature: "\(name)(addr) -> physical address", summary: paDoc,
                failure: "kernel BUG at arch/x86/mm/physaddr.c (an Oops that ends the task)",
                kernel: "arch/x86/mm/physaddr.c __phys_addr()")) { call in
                call.push(address: try env.machine.pa(try call.address(1, "addr")))
                return 1
            }
        }
        for name in ["__va", "phys_to_virt"] {
            env.define(name, doc: APIDoc(topic: topic, signature: "\(name)(paddr) -> address",
                summary: "The direct-map address of a physical address: paddr + PAGE_OFFSET. Meaningful for lowmem only.",
                kernel: "arch/x86/include/asm/page.h __va()")) { call in
                call.push(address: env.machine.va(try call.address(1, "paddr")))
                return 1
            }
        }
        env.define("is_vmalloc_addr", doc: APIDoc(topic: topic, signature: "is_vmalloc_addr(addr) -> boolean",
            summary: "Whether addr lies in the vmalloc area (VMALLOC_START .. VMALLOC_END).", kernel: "include/linux/mm.h is_vmalloc_addr()")) { call in
            call.push(env.machine.isVmallocAddr(try call.address(1, "addr")))
            return 1
        }
        env.define("virt_addr_valid", doc: APIDoc(topic: topic, signature: "virt_addr_valid(addr) -> boolean",
            summary: "Whether addr is a direct-map address backed by RAM (false below PAGE_OFFSET, in the vmalloc area, in the pkmap/fixmap areas).",
            kernel: "arch/x86/mm/physaddr.c __virt_addr_valid()")) { call in
            call.push(env.machine.virtAddrValid(try call.address(1, "addr")))
            return 1
        }
    }

    // MARK: Contents

    static func installContents(into env: KernelEnvironment) {
        let topic = "Memory contents"
        let mmu = "Goes through the simulated MMU: every page touched is translated by the TLB (misses walk the page tables), and the debug kernel checks each access (KASAN for slab objects, page faults for unmapped addresses)."
        env.define("memset", doc: APIDoc(topic: topic, signature: "memset(p, byte, n)",
            summary: "Fills n bytes at p with byte. " + mmu, failure: "KASAN report or Oops on a bad access",
            kernel: "lib/string.c memset()")) { call in
            try env.machine.memset(try call.pointer(1, "p"), try call.byte(2, "byte"), try call.size(3, "n"))
            return 0
        }
        env.define("memcpy", doc: APIDoc(topic: topic, signature: "memcpy(dst, src, n)",
            summary: "Copies n bytes from src to dst. " + mmu, failure: "KASAN report or Oops on a bad access",
            kernel: "arch/x86/lib/memcpy_64.S")) { call in
            try env.machine.memcpy(try call.pointer(1, "dst"), try call.pointer(2, "src"), try call.size(3, "n"))
            return 0
        }
        env.define("memcmp", doc: APIDoc(topic: topic, signature: "memcmp(a, b, n) -> integer",
            summary: "Compares n bytes: 0 when equal, negative or positive as the first differing byte of a is smaller or larger. " + mmu,
            kernel: "lib/string.c memcmp()")) { call in
            call.push(Int64(try env.machine.memcmp(try call.pointer(1, "a"), try call.pointer(2, "b"), try call.size(3, "n"))))
            return 1
        }
        env.define("peek", doc: APIDoc(topic: topic, signature: "peek(addr [, n]) -> byte | string",
            summary: "Reads memory: one byte as an integer, or n bytes as a Lua string. " + mmu,
            failure: "KASAN report or Oops on a bad access")) { call in
            let addr = try call.pointer(1, "addr")
            if call.isNil(2) {
                call.push(Int64(try env.machine.readByte(addr)))
            } else {
                let n = try call.size(2, "n")
                // A string that big would not fit the script's memory budget: refuse it up front.
                guard call.state.canAllocate(n) else { throw call.error("n (\(n) bytes) exceeds the memory limit") }
                call.push(bytes: try env.machine.read(addr, count: n))
            }
            return 1
        }
        env.define("poke", doc: APIDoc(topic: topic, signature: "poke(addr, byte_or_string)",
            summary: "Writes memory: one byte (an integer 0..255) or the bytes of a string. " + mmu,
            failure: "KASAN report or Oops on a bad access")) { call in
            let addr = try call.pointer(1, "addr")
            if call.kind(2) == .string {
                try env.machine.write(addr, bytes: try call.bytes(2, "value"))
            } else {
                try env.machine.writeByte(addr, try call.byte(2, "value"))
            }
            return 0
        }
    }
}
