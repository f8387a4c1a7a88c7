import ArgumentParser

/// `kmlab`: the command line. Thin: each subcommand parses its options and
/// hands over to a library (LuaBridge, KernelLua, Lessons).
struct Kmlab: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kmlab",
        abstract: "An educational scripting environment for Linux kernel memory management.",
        discussion: """
        Lua scripts drive a simulated kernel: page frames and zones, the buddy
        allocator, kmalloc and vmalloc, page tables and the TLB, interrupts,
        syscalls and DMA, with the reports a debug kernel prints on misuse.
        """,
        version: version,
        // One subcommand per line; the REPL is the default (`kmlab` alone).
        subcommands: [
            ReplShellCommand.self,
            RunCommand.self,
            DocCommand.self,
            LessonsCommand.self,
            LessonCommand.self,
            CheckCommand.self,
            WatchCommand.self,
            SolutionCommand.self,
            ExampleCommand.self,
            InitCommand.self,
            GradeCommand.self,
            GradeWorkerCommand.self,
            AutograderCommand.self,
            VerifyCommand.self,
            BenchCommand.self,
            FuzzCommand.self,
        ],
        defaultSubcommand: ReplShellCommand.self
    )
}
