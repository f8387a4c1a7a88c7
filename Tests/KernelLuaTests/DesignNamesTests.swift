import Testing
import KernelLua
import LuaBridge

/// Every name in ../shared/DESIGN.md's Lua API has a doc that `help(name)`
/// and `kmlab doc NAME` print, and exists in a fresh Lua state.
@Suite struct DesignNamesTests {
    /// The names of DESIGN.md's "The Lua API (the contract)", section by section.
    static let designNames: [String] = [
        // Allocation
        "kmalloc", "kzalloc", "kcalloc", "kmalloc_array", "krealloc", "kfree", "ksize",
        "vmalloc", "vzalloc", "vfree", "kvmalloc", "kvfree", "alloc_pages", "alloc_page",
        "__free_pages", "__get_free_pages", "get_zeroed_page", "free_pages", "free_page",
        "PAGE_SIZE", "PAGE_SHIFT", "PAGE_OFFSET", "KMALLOC_MAX_SIZE", "KMALLOC_MAX_CACHE_SIZE",
        "MAX_PAGE_ORDER", "VMALLOC_START", "VMALLOC_END",
        "GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_NOFS", "GFP_USER",
        "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE", "GFP_DMA", "GFP_DMA32", "__GFP_HIGHMEM",
        "__GFP_ZERO", "__GFP_NOWARN", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_RETRY_MAYFAIL",
        "__GFP_DIRECT_RECLAIM",
        // Addresses and pages
        "__pa", "__va", "virt_to_phys", "phys_to_virt", "virt_to_page", "vmalloc_to_page",
        "vmalloc_to_pfn", "page_to_pfn", "pfn_to_page", "page_to_phys", "page_address",
        "kmap", "kunmap", "kmap_local_page", "kunmap_local", "PageHighMem", "page_zonenum",
        "page_zone", "is_vmalloc_addr", "virt_addr_valid",
        // Memory contents
        "memset", "memcpy", "memcmp", "peek", "poke",
        // Contexts, locks, deferred work
        "in_interrupt", "in_irq", "in_hardirq", "in_softirq", "in_task", "in_atomic",
        "irqs_disabled", "might_sleep", "spin_lock_init", "spin_lock", "spin_unlock",
        "spin_lock_irqsave", "spin_unlock_irqrestore", "local_irq_disable", "local_irq_enable",
        "mutex_init", "mutex_lock", "mutex_unlock", "msleep", "schedule", "current",
        "request_irq", "free_irq", "IRQ_HANDLED", "IRQ_NONE", "raise_irq", "tasklet_schedule",
        "schedule_work", "flush_scheduled_work",
        // Syscalls and user space
        "SYSCALL_DEFINE", "user.syscall", "copy_to_user", "copy_from_user", "access_ok",
        "user.malloc", "user.free", "user.peek", "user.poke", "EFAULT", "ENOMEM", "EINVAL",
        // Devices and DMA
        "pci_device", "dma_map_single", "dma_unmap_single", "dma_alloc_coherent",
        "dma_free_coherent", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL",
        "DMA_BIT_MASK",
        // The machine and what it shows
        "boot", "cat", "proc", "dmesg", "stats", "ktime_get_ns", "memmap", "help",
        // Second wave: fault injection
        "write",
        // Second wave: slab caches
        "kmem_cache_create", "kmem_cache_alloc", "kmem_cache_zalloc", "kmem_cache_free",
        "kmem_cache_destroy", "kmem_cache_size", "SLAB_HWCACHE_ALIGN", "SLAB_POISON", "SLAB_RED_ZONE",
        "SLAB_PANIC",
        // Second wave: mempools
        "mempool_create", "mempool_create_kmalloc_pool", "mempool_create_slab_pool",
        "mempool_create_page_pool", "mempool_alloc", "mempool_free", "mempool_resize", "mempool_destroy",
        // Second wave: seeing more
        "user.pagemap",
    ]

    @Test(arguments: designNames)
    func everyDesignNameIsDocumented(name: String) throws {
        let lua = try LuaState(profile: .sandbox)
        let env = KernelEnvironment(lua: lua)
        #expect(env.helpText(for: name) != nil, "no help for \(name)")
    }

    @Test(arguments: designNames)
    func everyDesignNameExists(name: String) throws {
        let lua = try LuaState(profile: .sandbox)
        _ = KernelEnvironment(lua: lua)
        let path = name.split(separator: ".").joined(separator: "\"][\"")
        let r = lua.run("return _G[\"\(path)\"] ~= nil", chunkName: "=names")
        guard case .success(let v) = r else { Issue.record("\(name): \(r)"); return }
        #expect(v == [.boolean(true)], "\(name) is not defined")
    }
}
