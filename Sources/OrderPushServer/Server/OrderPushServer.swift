import Auth
import Glibc
import Logging
import OpenSSLKit
import Reactor
import Storage

/// The whole server: binds its listeners, runs one event loop per configured thread (loop 0
/// on the calling thread, which also watches the signals of `SignalWatcher.watched`), and
/// returns after a graceful shutdown.
public final class OrderPushServer {
    public let config: ServerConfig
    public let metrics = ServerMetrics()
    private let logger: Logger
    /// Per loop: its listening sockets, and whether each speaks TLS.
    private var listenerFds: [[(fd: Int32, tls: Bool)]] = []
    /// The port plain HTTP listens on (useful with `port: 0`); nil with `--no-plain`.
    public private(set) var boundPort: UInt16?
    /// The port HTTPS/WSS listens on, when TLS is configured.
    public private(set) var boundTLSPort: UInt16?
    /// The session-ticket keys every loop's TLS context starts with: from
    /// `--tls-ticket-key-file`, else the process's random ones.
    private var ticketKeys = TLSTicketKeys.process

    public init(config: ServerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Binds every loop's listener now, so a busy port fails before anything starts.
    public func bind() throws {
        let loops = max(1, config.loops)
        let useTLS = config.tlsCertificatePath != nil && config.tlsPrivateKeyPath != nil
        if useTLS {
            if let path = config.tlsTicketKeyPath { ticketKeys = TLSTicketKeys(current: try TLSTicketKeyFile.load(path: path)) }
            // Fail now, with OpenSSL's reason, rather than in every loop.
            _ = try TLSContext(certificateChainPath: config.tlsCertificatePath!, privateKeyPath: config.tlsPrivateKeyPath!,
                               ticketKeys: ticketKeys)
        }
        var plainPort = config.port
        var tlsPort = config.tlsPort
        listenerFds = Array(repeating: [], count: loops)
        for index in 0..<loops {
            if config.servePlain || !useTLS {
                let fd = try Socket.listen(host: config.host, port: plainPort, reusePort: loops > 1)
                if plainPort == 0 { plainPort = Socket.localPort(fd) }
                listenerFds[index].append((fd, false))
                boundPort = plainPort
            }
            if useTLS {
                let fd = try Socket.listen(host: config.host, port: tlsPort, reusePort: loops > 1)
                if tlsPort == 0 { tlsPort = Socket.localPort(fd) }
                listenerFds[index].append((fd, true))
                boundTLSPort = tlsPort
            }
        }
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

    /// Runs until SIGTERM/SIGINT/SIGQUIT, then shuts down gracefully and returns. SIGHUP
    /// re-reads the signing keys, the TLS certificate and key and the ticket key file (`Reloader`); SIGUSR1 and
    /// SIGUSR2 are logged and the server keeps serving.
    /// - Parameter onReady: called once the loops are about to run (start-up lines go here).
    public func run(onReady: (StartupInfo) -> Void = { _ in }) throws {
        SignalWatcher.ignoreSIGPIPE()
        SignalWatcher.ignoreSIGXFSZ()
        // Block the signals before any thread starts, so only the signalfd sees them.
        let signals = try SignalWatcher(signals: SignalWatcher.watched.map(\.signal))
        if listenerFds.isEmpty { try bind() }
        let loopCount = listenerFds.count
        let group = try LoopGroup(count: loopCount, maxTotalOutputBytes: config.maxTotalOutputBytes)
        let config = self.config, metrics = self.metrics, logger = self.logger, ticketKeys = self.ticketKeys

        // The storage backend (and with it the broker): chosen here, and only here;
        // everything else sees the `OrderStore` protocols. The database is created and
        // migrated now, so a bad path fails before serving. PostgreSQL may be down at start:
        // the node serves anyway (/healthz 503, writes 503) and connects when it is back.
        let storage: any StorageBackend
        let epoch: String, head: Int64
        var postgres: PostgresStorageBackend?
        metrics.node.setName(config.nodeName ?? "\(Self.hostName()):\(boundPort ?? boundTLSPort ?? 0)")
        if let text = config.databaseURL {
            let url = try PostgresURL(parsing: text)
            let backend = PostgresStorageBackend(url: url)
            storage = backend
            postgres = backend
            do {
                let store = try PostgresOrderStore(url: backend.url)
                (epoch, head) = (store.epoch, try store.head())
                metrics.node.setBackend("postgresql", up: true, reason: nil)
            } catch {
                logger.error("the database is unreachable at start (\(error)); serving anyway: /healthz answers 503 and writes 503 until it is back")
                (epoch, head) = ("", 0)
                metrics.node.setBackend("postgresql", up: false, reason: "\(error)")
            }
        } else {
            storage = SQLiteStorageBackend(path: config.databasePath)
            let store = try storage.openWriter()
            (epoch, head) = (store.epoch, try store.head())
            metrics.node.setBackend("sqlite", up: true, reason: nil)
        }
        let keySource = config.jwtKeySource
        let (keys, secretCreated) = try keySource.loadAtStart()
        if secretCreated { logger.info("generated a signing secret at \(config.resolvedSecretPath) (mode 0600)") }
        warnAboutShortKeys(keys, logger: logger)
        if config.jwtKeysDirectory != nil { logger.info("signing keys: \(keys.summary)") }
        let verifier = JWTVerifier(keys: keys)
        // Every loop starts having delivered through `head`; the broker hands them what
        // comes after it. With PostgreSQL that is the log as read by the broker thread
        // (the single source of fan-out, local commits included); with SQLite, the writer's
        // commits directly.
        let broker: any EventBroker
        var postgresBroker: PostgresEventBroker?
        if let postgres {
            let b = try PostgresEventBroker(url: postgres.url, group: group, publishedThrough: head, node: metrics.node,
                                            recovery: postgres.recovery, logger: logger)
            postgresBroker = b
            broker = b
        } else {
            broker = LocalEventBroker(group: group)
        }
        defer { postgresBroker?.stopAndJoin() }
        // Process-wide: a user's polls may land on any loop; fed by the writer and fan-out.
        let channelHeads = ChannelHeads()
        let writer = try StorageWriter(storage: storage, group: group, channelHeads: channelHeads,
                                       broker: broker, metrics: metrics,
                                       maxBatch: config.maxWriteBatch,
                                       retentionMs: Int64(config.retentionDays) * 86_400_000, logger: logger)
        defer { writer.stopAndJoin() }
        // The reads a loop must not wait for: with PostgreSQL all of them (a network round
        // trip each; one thread per loop, at least two, so one stuck read does not hold up
        // the rest), with SQLite only searches (one thread, as the other reads stay on the
        // loops: see `StoreReads`).
        let readsOnLoops = postgres == nil
        let reader = try DatabaseReader(threadCount: !readsOnLoops ? max(2, loopCount) : 1,
                                        capacity: config.maxQueuedReads, storage: storage, group: group,
                                        metrics: metrics, logger: logger)
        defer { reader.stopAndJoin() }
        // Process-wide: a user's connections may land on any loop.
        let userWrites = UserWriteLimiter(ratePerSecond: config.userWriteRate, burst: config.userWriteBurst)
        let attachServices: @Sendable (ServerLoop) throws -> Void = { loop in
            let inlineStore = readsOnLoops ? try storage.openReader() : nil
            loop.services = try OrderService(loop: loop, inlineStore: inlineStore, reader: reader, knownEpoch: epoch,
                                             deliveredThrough: head, verifier: verifier, writer: writer,
                                             userWrites: userWrites, channelHeads: channelHeads)
        }

        var threads: [LoopThread] = []
        for index in 1..<max(1, loopCount) {
            let fds = listenerFds[index]
            threads.append(try LoopThread {
                do {
                    let loop = try ServerLoop(index: index, config: config, metrics: metrics, logger: logger,
                                              mailbox: group.mailboxes[index], group: group)
                    try attachServices(loop)
                    try addListeners(fds, to: loop, config: config, ticketKeys: ticketKeys)
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
        try addListeners(listenerFds[0], to: main, config: config, ticketKeys: ticketKeys)
        let reloader = Reloader(config: config, keySource: keySource, keys: keys, ticketKeys: ticketKeys, group: group, logger: logger)
        try main.eventLoop.register(signals.fd, interest: .readable, handler: SignalHandler(watcher: signals) { signal in
            let name = SignalWatcher.name(of: signal)
            switch SignalWatcher.disposition(of: signal) {
            case .shutDownGracefully:
                logger.info("\(name) received: closing WebSockets with 1001 and draining")
                group.postToAll(.shutdown)
            case .reload:
                reloader.reload(on: main)
            case .logAndIgnore, nil:
                logger.info("\(name) received: no action is assigned to it; still serving")
            }
        })
        onReady(StartupInfo(secretPath: config.resolvedSecretPath, secretCreated: secretCreated, epoch: epoch, head: head,
                            signer: keys.signer))
        main.run()
        for thread in threads { thread.join() }
        logger.info("stopped cleanly")
    }
}

extension OrderPushServer {
    /// The machine's host name, for the default node name.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: name, as: UTF8.self)
    }
}

/// Registers a loop's listeners; TLS ones share one context per loop (an SSL_CTX is not
/// shared across threads here, so no locking is involved).
private func addListeners(_ fds: [(fd: Int32, tls: Bool)], to loop: ServerLoop, config: ServerConfig,
                          ticketKeys: TLSTicketKeys) throws {
    var context: TLSContext?
    for (fd, tls) in fds {
        if tls && context == nil {
            context = try TLSContext(certificateChainPath: config.tlsCertificatePath!, privateKeyPath: config.tlsPrivateKeyPath!,
                                     ticketKeys: ticketKeys)
        }
        try loop.addListener(fd: fd, tls: tls ? context : nil)
    }
}

func warnAboutShortKeys(_ keys: JWTKeySet, logger: Logger) {
    if keys.primaryID == nil {
        if keys.primaryKey.count < SecretFile.recommendedMinimumLength {
            logger.warning("the signing secret is shorter than \(SecretFile.recommendedMinimumLength) bytes")
        }
        return
    }
    for (kid, key) in keys.keysByID.sorted(by: { $0.key < $1.key }) where key.count < SecretFile.recommendedMinimumLength {
        logger.warning("the signing key \(kid) is shorter than \(SecretFile.recommendedMinimumLength) bytes")
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
