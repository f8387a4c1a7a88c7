/// User processes: the user program of `user.*` (a.out) and the others
/// `user.spawn(comm)` starts, each a task with an address space of its own.
///
/// They are what the OOM killer chooses among (mm/oom_kill.c walks
/// for_each_process and skips kernel threads and tasks without an mm). The
/// list is in creation order, as fork() appends to init_task.tasks
/// (kernel/fork.c copy_process: list_add_tail_rcu), which is the order
/// for_each_process, dump_tasks and the victim choice see.
public final class UserProcess {
    public let task: Task
    /// Its address space (its areas and the frames faulted in behind them).
    public let mm: UserAddressSpace
    /// Set when the OOM killer killed it: its memory is gone and every
    /// later call of its methods is an error naming the kill.
    public internal(set) var oomKilled = false

    public var pid: Int { task.pid }
    public var comm: String { task.comm }

    init(task: Task, mm: UserAddressSpace) {
        self.task = task
        self.mm = mm
    }

    /// The error its methods raise once it is dead.
    var killedError: ContextError {
        ContextError("user task \(pid) (\(comm)) was killed by the OOM killer")
    }
}

/// Holds the processes (a class, so that the machine's stored property
/// stays one pointer: growing the list does not copy the machine's storage).
final class UserProcessTable {
    var processes: [UserProcess] = []
    /// The pid the next spawned process gets (after a.out's 413).
    var nextPid = 414
}

extension Machine {
    /// How many processes user.spawn may start on one machine: enough for
    /// any lesson, few enough that a loop cannot make the host hold an
    /// address space per iteration forever.
    public static let maxSpawnedProcesses = 1000

    /// a.out's pid (ExecutionState.userTask's), known before any machine boots.
    public static let userProgramPid = 413

    /// TASK_COMM_LEN (include/linux/sched.h): comm holds 15 bytes and a NUL.
    public static let taskCommLength = 16

    /// a.out, the first user process: made, with its address space, on first use.
    public var mainUserProcess: UserProcess {
        let mm = userSpace
        if let first = userProcessTable.processes.first, first.task === contexts.userTask { return first }
        // Unreachable: userSpace registers a.out when it makes its mm.
        let p = UserProcess(task: contexts.userTask, mm: mm)
        userProcessTable.processes.insert(p, at: 0)
        return p
    }

    /// Every user process still alive, in creation order (a.out first,
    /// once anything has used it).
    public var userProcesses: [UserProcess] { userProcessTable.processes.filter { !$0.oomKilled } }

    /// The process with this pid, dead or alive.
    public func userProcess(pid: Int) -> UserProcess? {
        if pid == contexts.userTask.pid { return mainUserProcess }
        return userProcessTable.processes.first { $0.pid == pid }
    }

    /// `user.spawn(comm)`: a new user process (fork + exec of a program
    /// called comm), uid 1000 like a.out, with the same three areas
    /// (text, data, stack) and nothing else mapped. comm is cut as
    /// __set_task_comm() cuts it: at a NUL, and to TASK_COMM_LEN - 1 bytes
    /// (a multi-byte character cut in two is dropped whole).
    public func userSpawn(comm: String) throws -> UserProcess {
        _ = mainUserProcess
        let table = userProcessTable
        guard table.processes.count <= Machine.maxSpawnedProcesses else {
            throw ContextError("too many user tasks: kmlab runs at most \(Machine.maxSpawnedProcesses) besides a.out")
        }
        let name = Machine.taskComm(comm)
        let task = Task(pid: table.nextPid, comm: name, kind: .user, uid: contexts.userTask.uid)
        table.nextPid += 1
        let mm = UserAddressSpace(pointerBits: contexts.pointerBits, program: name)
        let p = UserProcess(task: task, mm: mm)
        table.processes.append(p)
        return p
    }

    /// `comm` as the kernel stores it: up to the first NUL, at most 15 bytes,
    /// without a trailing partial UTF-8 sequence.
    public static func taskComm(_ s: String) -> String {
        var bytes = Array(s.utf8.prefix { $0 != 0 }.prefix(taskCommLength - 1))
        while let last = bytes.last, String(validating: bytes, as: UTF8.self) == nil, last & 0x80 != 0 {
            bytes.removeLast()
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The process `current` belongs to, if it is a spawned one (a.out and
    /// insmod share a.out's address space, as before user.spawn existed).
    var currentSpawnedProcess: UserProcess? {
        let t = contexts.current
        guard t !== contexts.userTask else { return nil }
        return userProcessTable.processes.first { $0.task === t }
    }

    /// The address space copy_to_user/copy_from_user work on: the current
    /// task's.
    var currentUserSpace: UserAddressSpace { currentSpawnedProcess?.mm ?? userSpace }

    /// The process a user.* call acts for (nil: a.out), or the kill error.
    func liveProcess(_ p: UserProcess?) throws -> UserProcess {
        let proc = p ?? mainUserProcess
        if proc.oomKilled { throw proc.killedError }
        return proc
    }

    /// Runs `body` with `current` set to the process's task: its own loads
    /// and stores fault in its context (the fault handler runs as the task
    /// that touched the page, whose name an allocation report prints).
    func runAsUser<T>(_ p: UserProcess, _ body: () throws -> T) rethrows -> T {
        let cs = contexts
        let saved = cs.current
        cs.current = p.task
        defer { cs.current = saved }
        return try body()
    }
}
