import CLinux
import Glibc

/// An eventfd that another thread writes to wake a loop (or a blocked thread) up.
/// Sendable: the kernel object is the only shared state, and eventfd reads/writes are atomic.
public final class WakeupSignal: Sendable {
    public let fd: Int32

    /// - Parameter blocking: true for a thread that sleeps in `wait()`; false for an epoll loop.
    public init(blocking: Bool = false) throws(SystemError) {
        let flags = Int32(EFD_CLOEXEC) | (blocking ? 0 : Int32(EFD_NONBLOCK))
        let fd = eventfd(0, flags)
        guard fd >= 0 else { throw SystemError("eventfd") }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets the counter; on a blocking eventfd, sleeps until `signal()` was called.
    public func wait() {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 && errno == EINTR {}
    }

    /// Non-blocking drain, for a loop that got readiness on `fd`.
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd, &value, 8)
    }
}
