import KernelSim
import LuaBridge

/// `write(path, text)`: `echo text > path` for the writable /proc, /sys and
/// debugfs files the simulator models (the fault-injection attributes).
enum FileWriteAPI {
    static func install(into env: KernelEnvironment) {
        env.define("write", doc: APIDoc(topic: "Machine", signature: "write(path, text) -> true | nil, errno",
            summary: "Writes text (a string, or an integer) to a writable /proc, /sys or debugfs file as `echo text > path` does (a newline is added): the file's own parser decides, as the kernel's kstrtoull/kstrtobool do, so \"0x10\" is hex, \"Y\"/\"N\"/\"1\"/\"0\" set a boolean, and a trailing word is refused. Writable: \(ProcFile.docSummary(ProcFile.all.filter(\.isWritable))) (the fault-injection attributes, 6.x only). Example: write(\"/sys/kernel/debug/failslab/probability\", \"100\").",
            failure: "nil and the errno's name: \"ENOENT\" for a path that does not exist, \"EACCES\" for a read-only file, \"EINVAL\" for text the file cannot parse, \"ERANGE\" for a number too large; an error for a path or text that is not a string",
            kernel: "write(2) on debugfs (fs/debugfs/file.c, fs/libfs.c simple_attr_write) and sysfs/procfs files")) { call in
            let path = try call.string(1, "path")
            let text: [UInt8]
            if call.isInteger(2) {
                text = Array(String(call.uncheckedInteger(2)).utf8)
            } else if call.kind(2) == .string {
                text = try call.bytes(2, "text")
            } else {
                throw call.argumentError(2, "text", "a string or an integer")
            }
            if let errno = env.machine.writeFile(path, bytes: text) {
                call.pushNil()
                call.push("\(errno)")
                return 2
            }
            call.push(true)
            return 1
        }
    }
}
