import KernelSim
import LuaBridge

/// The machine as a whole: the kernel log, structured reports and help.
/// (`boot`, `cat`, `proc`, `stats`, `memmap` join this group as the memory
/// model lands.)
enum MachineAPI {
    static func install(into env: KernelEnvironment) {
        env.define("dmesg", doc: APIDoc(
            topic: "Machine", signature: "dmesg() -> string",
            summary: "The kernel log since boot, one line per message, each stamped with the simulated time as the kernel prints it: `[    0.001234] text`. Reports of misuse (KASAN, sleeping in atomic context, allocation failures, ...) appear here in the kernel's own words.",
            kernel: "dmesg(1) reading the printk ring buffer")) { call in
            call.push(env.machine.log.text)
            return 1
        }

        env.define("reports", doc: APIDoc(
            topic: "Machine", signature: "reports() -> {report, ...}",
            summary: "Every kernel report raised since boot, oldest first, as tables with `kind` (\"sleeping-in-atomic\", \"use-after-free\", ...), `severity` (\"warning\" or \"oops\"), `headline`, `text`, and `address`, `size`, `cache`, `context` where they apply. `tostring(report)` is its text.",
            kernel: "what a debug kernel prints to the log")) { call in
            let reports = env.machine.log.reports
            call.pushTable(arrayCount: reports.count) { list in
                for (i, r) in reports.enumerated() {
                    list.set(i + 1) { ReportValue.push(r, on: call) }
                }
            }
            return 1
        }
        HelpAPI.install(into: env)
    }
}
