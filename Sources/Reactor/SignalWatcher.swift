import CLinux
import Glibc

/// What the server does with a signal that a service manager, a terminal or an operator
/// sends on purpose. Every such signal is handled deliberately: none of them may end the
/// process the kernel's default way (at once, without closing WebSockets with 1001).
public enum SignalDisposition: Equatable, Sendable {
    /// Close WebSockets with 1001, drain, exit 0 (SIGTERM, SIGINT, SIGQUIT).
    case shutDownGracefully
    /// Reload what can be reloaded (SIGHUP): the server re-reads its signing keys and TLS
    /// certificate (`Reloader`) and keeps serving.
    case reload
    /// Logged and otherwise ignored (SIGUSR1, SIGUSR2: no meaning assigned yet).
    case logAndIgnore
}

/// Delivers the signals of `SignalDisposition` through a signalfd so the loop handles them
/// as ordinary events, instead of in an async-signal handler where almost nothing is safe
/// to do.
public final class SignalWatcher {
    /// Every signal the server watches, each with its disposition.
    ///
    /// - SIGTERM (systemd, docker stop, kill) and SIGINT (Ctrl-C): graceful shutdown.
    /// - SIGQUIT (Ctrl-\, some supervisors' "stop now"): also a graceful shutdown. Its
    ///   default action is a core dump, which would drop every WebSocket without a 1001 and
    ///   write a core of the whole process (session tokens in buffers included); an operator
    ///   who wants a core uses SIGABRT or gcore on purpose.
    /// - SIGHUP (terminal hang-up, a config manager's "reload"): never kills; `.reload`.
    /// - SIGUSR1/SIGUSR2: by default they kill; here they are logged and ignored until a
    ///   meaning is given to them.
    /// Job-control signals (SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT) keep their default, which
    /// stops or resumes the process and never ends it.
    public static let watched: [(signal: Int32, disposition: SignalDisposition)] = [
        (SIGTERM, .shutDownGracefully), (SIGINT, .shutDownGracefully), (SIGQUIT, .shutDownGracefully),
        (SIGHUP, .reload), (SIGUSR1, .logAndIgnore), (SIGUSR2, .logAndIgnore),
    ]

    /// The disposition of a watched signal; nil for any other.
    public static func disposition(of signal: Int32) -> SignalDisposition? {
        watched.first { $0.signal == signal }?.disposition
    }

    /// "SIGHUP" and the like, for log lines; "signal N" for others.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGHUP: "SIGHUP"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        default: "signal \(signal)"
        }
    }

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
        ignore(SIGPIPE)
    }

    /// Growing the database past RLIMIT_FSIZE must fail that write with EFBIG, which SQLite
    /// reports as an error like a full disk, not kill the process with SIGXFSZ.
    public static func ignoreSIGXFSZ() {
        ignore(SIGXFSZ)
    }

    private static func ignore(_ signal: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(signal, &action, nil)
    }
}
