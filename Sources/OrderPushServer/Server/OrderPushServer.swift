import Glibc
import Logging
import Reactor

/// The whole server: binds its listeners, runs one event loop per configured thread (loop 0
/// on the calling thread, which also watches SIGTERM/SIGINT), and returns after a graceful
/// shutdown.
public final class OrderPushServer {
    public let config: ServerConfig
    public let metrics = ServerMetrics()
    private let logger: Logger
    private var listenerFds: [[Int32]] = []
    /// The port plain HTTP listens on (useful with `port: 0`).
    public private(set) var boundPort: UInt16 = 0

    public init(config: ServerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Binds every loop's listener now, so a busy port fails before anything starts.
    public func bind() throws {
        let loops = max(1, config.loops)
        var port = config.port
        listenerFds = []
        for _ in 0..<loops {
            let fd = try Socket.listen(host: config.host, port: port, reusePort: loops > 1)
            if port == 0 { port = Socket.localPort(fd) }
            listenerFds.append([fd])
        }
        boundPort = port
    }

    /// Runs until SIGTERM/SIGINT, then shuts down gracefully and returns.
    /// - Parameter onReady: called once the loops are about to run (start-up lines go here).
    public func run(onReady: () -> Void = {}) throws {
        SignalWatcher.ignoreSIGPIPE()
        // Block the signals before any thread starts, so only the signalfd sees them.
        let signals = try SignalWatcher(signals: [SIGTERM, SIGINT])
        if listenerFds.isEmpty { try bind() }
        let loopCount = listenerFds.count
        let group = try LoopGroup(count: loopCount)
        let config = self.config, metrics = self.metrics, logger = self.logger

        var threads: [LoopThread] = []
        for index in 1..<max(1, loopCount) {
            let fds = listenerFds[index]
            threads.append(try LoopThread {
                do {
                    let loop = try ServerLoop(index: index, config: config, metrics: metrics, logger: logger,
                                              mailbox: group.mailboxes[index], group: group)
                    for fd in fds { try loop.addListener(fd: fd) }
                    loop.run()
                } catch {
                    logger.critical("loop \(index) failed to start: \(error)")
                    group.postToAll(.shutdown)
                }
            })
        }

        let main = try ServerLoop(index: 0, config: config, metrics: metrics, logger: logger,
                                  mailbox: group.mailboxes[0], group: group)
        for fd in listenerFds[0] { try main.addListener(fd: fd) }
        try main.eventLoop.register(signals.fd, interest: .readable, handler: SignalHandler(watcher: signals) { signal in
            logger.info("received signal \(signal): closing WebSockets with 1001 and draining")
            group.postToAll(.shutdown)
        })
        onReady()
        main.run()
        for thread in threads { thread.join() }
        logger.info("stopped cleanly")
    }
}

/// Turns signalfd readiness into a callback on the loop.
private final class SignalHandler: EventHandler {
    private let watcher: SignalWatcher
    private let onSignal: (Int32) -> Void
    init(watcher: SignalWatcher, onSignal: @escaping (Int32) -> Void) {
        self.watcher = watcher
        self.onSignal = onSignal
    }
    func handle(_ readiness: Epoll.Readiness) {
        for s in watcher.take() { onSignal(s) }
    }
}
