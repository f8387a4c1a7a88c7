/// The preempt_count bit layout of include/linux/preempt.h (non-PREEMPT_RT):
///
///         PREEMPT_MASK: 0x000000ff
///         SOFTIRQ_MASK: 0x0000ff00
///         HARDIRQ_MASK: 0x000f0000
///             NMI_MASK: 0x00f00000
///
/// A spinlock adds PREEMPT_OFFSET, serving a softirq adds SOFTIRQ_OFFSET,
/// `local_bh_disable` adds SOFTIRQ_DISABLE_OFFSET, `irq_enter` adds
/// HARDIRQ_OFFSET. The predicates below are the kernel's macros.
public enum Preempt {
    public static let preemptBits: UInt32 = 8
    public static let softirqBits: UInt32 = 8
    public static let hardirqBits: UInt32 = 4
    public static let nmiBits: UInt32 = 4

    public static let preemptShift: UInt32 = 0
    public static let softirqShift: UInt32 = preemptShift + preemptBits   // 8
    public static let hardirqShift: UInt32 = softirqShift + softirqBits   // 16
    public static let nmiShift: UInt32 = hardirqShift + hardirqBits       // 20

    public static let preemptMask: UInt32 = ((1 << preemptBits) - 1) << preemptShift  // 0x000000ff
    public static let softirqMask: UInt32 = ((1 << softirqBits) - 1) << softirqShift  // 0x0000ff00
    public static let hardirqMask: UInt32 = ((1 << hardirqBits) - 1) << hardirqShift  // 0x000f0000
    public static let nmiMask: UInt32 = ((1 << nmiBits) - 1) << nmiShift              // 0x00f00000

    public static let preemptOffset: UInt32 = 1 << preemptShift   // 0x1
    public static let softirqOffset: UInt32 = 1 << softirqShift   // 0x100
    public static let hardirqOffset: UInt32 = 1 << hardirqShift   // 0x10000
    public static let nmiOffset: UInt32 = 1 << nmiShift           // 0x100000
    /// `local_bh_disable()` adds twice SOFTIRQ_OFFSET so that "BH disabled"
    /// and "serving a softirq" can be told apart.
    public static let softirqDisableOffset: UInt32 = 2 * softirqOffset  // 0x200

    // The predicates of include/linux/preempt.h, on a raw count.
    public static func inNMI(_ pc: UInt32) -> Bool { pc & nmiMask != 0 }
    public static func inHardirq(_ pc: UInt32) -> Bool { pc & hardirqMask != 0 }
    /// `in_softirq()`: serving a softirq *or* BH disabled.
    public static func inSoftirq(_ pc: UInt32) -> Bool { pc & softirqMask != 0 }
    public static func inServingSoftirq(_ pc: UInt32) -> Bool { pc & softirqOffset != 0 }
    /// `in_interrupt()`: NMI, hardirq, softirq, or BH disabled.
    public static func inInterrupt(_ pc: UInt32) -> Bool { pc & (nmiMask | hardirqMask | softirqMask) != 0 }
    /// `in_task()`: not NMI, not hardirq, not serving a softirq.
    public static func inTask(_ pc: UInt32) -> Bool { pc & (nmiMask | hardirqMask | softirqOffset) == 0 }
    /// `in_atomic()`: any count at all.
    public static func inAtomic(_ pc: UInt32) -> Bool { pc != 0 }
}

/// x86 EFLAGS as `local_irq_save` returns them: IF (bit 9) tells whether
/// interrupts were enabled. 0x246 (IF|ZF|PF|bit 1) is the value usually seen
/// with interrupts on, 0x46 with them off.
public enum IrqFlags {
    public static let interruptFlag: UInt64 = 0x200
    public static let enabledValue: UInt64 = 0x246
    public static let disabledValue: UInt64 = 0x46
}
