import Auth
import Glibc
import Logging
import Reactor
import Storage

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

    /// What the start-up lines tell the person who started the server.
    public struct StartupInfo: Sendable {
        public let secretPath: String
        public let secretCreated: Bool
        public let epoch: String
        public let head: Int64
        /// Signs start-up links with the server's own secret.
        public let signer: JWTSigner
    }

    /// Runs until SIGTERM/SIGINT, then shuts down gracefully and returns.
    /// - Parameter onReady: called once the loops are about to run (start-up lines go here).
    public func run(onReady: (StartupInfo) -> Void = { _ in }) throws {
        SignalWatcher.ignoreSIGPIPE()
        // Block the signals before any thread starts, so only the signalfd sees them.
        let signals = try SignalWatcher(signals: [SIGTERM, SIGINT])
        if listenerFds.isEmpty { try bind() }
        let loopCount = listenerFds.count
        let group = try LoopGroup(count: loopCount)
        let config = self.config, metrics = self.metrics, logger = self.logger

        // The database: created and migrated here, so a bad path fails before serving.
        let databasePath = config.databasePath
        let (epoch, head) = try {
            let store = try SQLiteOrderStore(path: databasePath)
            return (store.epoch, try store.head())
        }()
        let secret = try SecretFile.loadOrCreate(path: config.resolvedSecretPath)
        if secret.created { logger.info("generated a signing secret at \(config.resolvedSecretPath) (mode 0600)") }
        if secret.key.count < SecretFile.recommendedMinimumLength {
            logger.warning("the signing secret is shorter than \(SecretFile.recommendedMinimumLength) bytes")
        }
        let verifier = JWTVerifier(secret: secret.key)
        let writer = try StorageWriter(openStore: { try SQLiteOrderStore(path: databasePath) }, group: group,
                                       broker: LocalEventBroker(group: group), metrics: metrics,
                                       maxBatch: config.maxWriteBatch,
                                       retentionMs: Int64(config.retentionDays) * 86_400_000, logger: logger)
        defer { writer.stopAndJoin() }
        let attachServices: @Sendable (ServerLoop) throws -> Void = { loop in
            let readStore = try SQLiteOrderStore(path: databasePath, readOnly: true)
            loop.services = try OrderService(loop: loop, store: readStore, verifier: verifier, writer: writer)
        }

        var threads: [LoopThread] = []
        for index in 1..<max(1, loopCount) {
            let fds = listenerFds[index]
            threads.append(try LoopThread {
                do {
                    let loop = try ServerLoop(index: index, config: config, metrics: metrics, logger: logger,
                                              mailbox: group.mailboxes[index], group: group)
                    try attachServices(loop)
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
        try attachServices(main)
        for fd in listenerFds[0] { try main.addListener(fd: fd) }
        try main.eventLoop.register(signals.fd, interest: .readable, handler: SignalHandler(watcher: signals) { signal in
            logger.info("received signal \(signal): closing WebSockets with 1001 and draining")
            group.postToAll(.shutdown)
        })
        onReady(StartupInfo(secretPath: config.resolvedSecretPath, secretCreated: secret.created, epoch: epoch, head: head,
                            signer: JWTSigner(secret: secret.key)))
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
