import CLinux
import Glibc

/// Delivers SIGTERM/SIGINT through a signalfd so the loop handles them as ordinary events,
/// instead of in an async-signal handler where almost nothing is safe to do.
public final class SignalWatcher {
    public let fd: Int32

    /// Blocks `signals` for the calling thread (and threads it starts later, which inherit
    /// the mask), so call this on the main thread before any other thread starts.
    public init(signals: [Int32]) throws(SystemError) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        guard pthread_sigmask(SIG_BLOCK, &mask, nil) == 0 else { throw SystemError("pthread_sigmask") }
        let fd = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd") }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    /// The signals that arrived since the last call.
    public func take() -> [Int32] {
        var result: [Int32] = []
        var info = signalfd_siginfo()
        while Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            result.append(Int32(info.ssi_signo))
        }
        return result
    }

    /// Writing to a socket whose peer has gone must give EPIPE, not kill the process.
    public static func ignoreSIGPIPE() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGPIPE, &action, nil)
    }
}
