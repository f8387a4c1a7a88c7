/// Error numbers with their real values (include/uapi/asm-generic/errno-base.h
/// and include/uapi/asm-generic/errno.h; x86 uses the generic table). Kernel
/// functions return them negated: `return -EBUSY;`.
public enum Errno: Int, CaseIterable, Sendable {
    case EPERM = 1
    case ENOENT = 2
    case ESRCH = 3
    case EINTR = 4
    case EIO = 5
    case ENXIO = 6
    case E2BIG = 7
    case ENOEXEC = 8
    case EBADF = 9
    case ECHILD = 10
    case EAGAIN = 11
    case ENOMEM = 12
    case EACCES = 13
    case EFAULT = 14
    case ENOTBLK = 15
    case EBUSY = 16
    case EEXIST = 17
    case EXDEV = 18
    case ENODEV = 19
    case ENOTDIR = 20
    case EISDIR = 21
    case EINVAL = 22
    case ENFILE = 23
    case EMFILE = 24
    case ENOTTY = 25
    case ETXTBSY = 26
    case EFBIG = 27
    case ENOSPC = 28
    case ESPIPE = 29
    case EROFS = 30
    case EMLINK = 31
    case EPIPE = 32
    case EDOM = 33
    case ERANGE = 34
    case EDEADLK = 35
    case ENAMETOOLONG = 36
    case ENOLCK = 37
    case ENOSYS = 38
    case ENOTEMPTY = 39
    case ELOOP = 40
    case EOVERFLOW = 75
    case EOPNOTSUPP = 95
    case ENOBUFS = 105
    case ENOTCONN = 107
    case ETIMEDOUT = 110

    /// `-EWOULDBLOCK` is `-EAGAIN` (include/uapi/asm-generic/errno.h).
    public static let EWOULDBLOCK = Errno.EAGAIN

    /// The negative return value, as kernel functions return it.
    public var negated: Int { -rawValue }

    /// The name of a (positive) errno value, e.g. `EBUSY`, or nil.
    public static func name(of value: Int) -> String? {
        Errno(rawValue: abs(value)).map { "\($0)" }
    }
}
