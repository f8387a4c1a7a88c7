import Testing
import KernelLua
import LuaBridge

/// Every name of DESIGN.md's "Contexts, locks, deferred work", "Syscalls and
/// user space" and "Devices and DMA" sections is defined and documented.
@Suite struct ContextDocsTests {
    static let names = [
        "in_interrupt", "in_irq", "in_hardirq", "in_softirq", "in_task", "in_atomic", "irqs_disabled",
        "might_sleep", "spin_lock_init", "spin_lock", "spin_unlock", "spin_lock_irqsave",
        "spin_unlock_irqrestore", "local_irq_disable", "local_irq_enable", "mutex_init", "mutex_lock",
        "mutex_unlock", "msleep", "schedule", "current", "request_irq", "free_irq", "IRQ_HANDLED", "IRQ_NONE",
        "IRQF_SHARED", "raise_irq", "tasklet_schedule", "schedule_work", "flush_scheduled_work",
        "SYSCALL_DEFINE", "user.syscall", "copy_to_user", "copy_from_user", "access_ok", "user.malloc",
        "user.free", "user.peek", "user.poke", "EFAULT", "ENOMEM", "EINVAL", "EBUSY", "EAGAIN", "ENOSYS",
        "pci_device", "dma_map_single", "dma_unmap_single", "dma_alloc_coherent", "dma_free_coherent",
        "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL", "DMA_BIT_MASK", "dev:dma_write",
        "dev:dma_read", "dev:raise_irq",
    ]

    @Test func everyNameIsDocumented() throws {
        let h = try KernelHarness()
        for name in Self.names {
            let doc = h.env.docs[name]
            #expect(doc != nil, "no doc for \(name)")
            #expect(doc?.summary.isEmpty == false, "empty doc for \(name)")
        }
    }

    @Test func everyGlobalExists() throws {
        let h = try KernelHarness()
        for name in Self.names where !name.contains(":") {
            let path = name.split(separator: ".").joined(separator: "\"][\"")
            #expect(h.values("return _G[\"\(path)\"] ~= nil") == [.boolean(true)], "\(name) is not defined")
        }
    }
}
