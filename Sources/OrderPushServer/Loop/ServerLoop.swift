import HTTP1
import Logging
import OpenSSLKit
import Reactor
import WebSocket

/// One event-loop thread of the server and everything it owns: its listener(s), its
/// connections, its mailbox, and the product running on it (`services`). Nothing here is
/// touched by another thread; other threads talk to it only through `mailbox`.
final class ServerLoop {
    let index: Int
    let config: ServerConfig
    let eventLoop: EventLoop
    let metrics: ServerMetrics
    let logger: Logger
    let httpLimits: HTTPParserLimits
    let mailbox: Mailbox<LoopMessage>
    /// Every loop's mailbox, this one's included, for messages that reach all loops.
    let group: LoopGroup
    let staticFiles: StaticFiles

    /// The loop's one read buffer: connections copy out only what their parser must keep.
    let readBuffer: UnsafeMutableRawBufferPointer
    private(set) var listeners: [Listener] = []
    private var connections: [Connection?] = []
    private(set) var connectionCount = 0
    private var nextSerial: UInt64 = 0
    /// Unchecked exclusivity: loop-thread only, and touched once per delivery (see Connection).
    @exclusivity(unchecked) private var flushQueue: [Connection] = []
    var broadcastClients: [UInt64: Connection] = [:]

    private(set) var isShuttingDown = false
    private var shutdownDeadlineMs: Int64 = 0
    /// Extra per-loop state of the product (stores, pending writes); set by the server.
    var services: LoopServices?

    init(index: Int, config: ServerConfig, metrics: ServerMetrics, logger: Logger,
         mailbox: Mailbox<LoopMessage>, group: LoopGroup) throws(SystemError) {
        self.index = index
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.mailbox = mailbox
        self.group = group
        eventLoop = try EventLoop()
        httpLimits = HTTPParserLimits(maxHeaderBytes: config.maxHeaderBytes, maxBodyBytes: config.maxBodyBytes)
        staticFiles = StaticFiles(root: config.webRoot)
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        try eventLoop.register(mailbox.wakeup.fd, interest: .readable, handler: MailboxHandler(loop: self))
        eventLoop.onTick = { [unowned self] in self.tick() }
        eventLoop.afterTurn = { [unowned self] in self.flushPending() }
    }

    deinit { readBuffer.deallocate() }

    func addListener(fd: Int32, tls: TLSContext? = nil) throws(SystemError) {
        let listener = Listener(fd: fd, tls: tls, loop: self)
        try eventLoop.register(fd, interest: .readable, handler: listener)
        listeners.append(listener)
    }

    func run() { eventLoop.run() }

    /// New TLS connections on this loop use `context`; open ones keep the context they were
    /// made from (their session holds it).
    func replaceTLSContext(_ context: TLSContext) {
        for listener in listeners where listener.tls != nil { listener.tls = context }
    }

    // MARK: - Connections

    func adopt(_ fd: Int32, tls: TLSContext?) {
        guard !isShuttingDown else {
            metrics.connectionsRefused.add(1, ordering: .relaxed)
            Socket.close(fd)
            return
        }
        guard group.admitConnection(limit: config.maxConnections) else {
            metrics.connectionsRefused.add(1, ordering: .relaxed)
            OverCapacity.refuse(fd, plainHTTP: tls == nil, scratch: readBuffer)
            return
        }
        let stream: ByteStream
        if let tls {
            guard let session = try? TLSStream(fd: fd, context: tls) else {
                group.connectionEnded()
                Socket.close(fd)
                return
            }
            stream = session
        } else {
            stream = SocketStream(fd: fd)
        }
        nextSerial += 1
        let connection = Connection(fd: fd, stream: stream, serial: nextSerial, loop: self,
                                    nowMs: MonotonicClock.nowMilliseconds())
        do {
            try eventLoop.register(fd, interest: .readable, handler: connection)
        } catch {
            group.connectionEnded()
            Socket.close(fd)
            return
        }
        let slot = Int(fd)
        if slot >= connections.count { connections.append(contentsOf: repeatElement(nil, count: slot - connections.count + 1)) }
        connections[slot] = connection
        connectionCount += 1
        metrics.connectionsOpen.add(1, ordering: .relaxed)
    }

    /// The connection with this descriptor, if it is still the one with this serial.
    func connection(fd: Int32, serial: UInt64) -> Connection? {
        guard Int(fd) < connections.count, let c = connections[Int(fd)], c.serial == serial else { return nil }
        return c
    }

    func connectionClosed(_ connection: Connection) {
        eventLoop.deregister(connection.fd)
        if Int(connection.fd) < connections.count, connections[Int(connection.fd)] === connection {
            connections[Int(connection.fd)] = nil
            connectionCount -= 1
            group.connectionEnded()
            metrics.connectionsOpen.subtract(1, ordering: .relaxed)
        }
    }

    func webSocketOpened(_ connection: Connection) {
        metrics.webSocketsOpen.add(1, ordering: .relaxed)
        if case .broadcast = connection.webSocket?.endpoint { broadcastClients[connection.serial] = connection }
    }

    func webSocketClosed(_ connection: Connection) {
        metrics.webSocketsOpen.subtract(1, ordering: .relaxed)
        guard let endpoint = connection.webSocket?.endpoint else { return }
        switch endpoint {
        case .broadcast:
            broadcastClients.removeValue(forKey: connection.serial)
        case .push:
            services?.webSocketClosed(connection)
        case .echo:
            break
        }
    }

    func eventStreamOpened(_ connection: Connection) {
        metrics.eventStreamsOpen.add(1, ordering: .relaxed)
        services?.eventStreamOpened(connection)
    }

    func eventStreamClosed(_ connection: Connection) {
        metrics.eventStreamsOpen.subtract(1, ordering: .relaxed)
        services?.eventStreamClosed(connection)
    }

    // MARK: - Output

    func scheduleFlush(_ connection: Connection) {
        guard !connection.isQueuedForFlush else { return }
        connection.isQueuedForFlush = true
        flushQueue.append(connection)
    }

    /// End of a loop turn: one write per connection that got output during the turn.
    private func flushPending() {
        while !flushQueue.isEmpty {
            let batch = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            for connection in batch where connection.isQueuedForFlush { connection.flush() }
        }
        if isShuttingDown { checkShutdownComplete() }
    }

    // MARK: - Time

    private func tick() {
        let now = MonotonicClock.nowMilliseconds()
        for listener in listeners { listener.resumeIfPaused() }
        // O(connections) per tick (4 per second): ~10 µs per 10k connections, cheaper than
        // keeping a timer per connection for deadlines that almost never fire.
        for case let connection? in connections { connection.tick(nowMs: now) }
        if isShuttingDown && now >= shutdownDeadlineMs {
            for case let connection? in connections { connection.closeNow() }
        }
    }

    // MARK: - Mailbox

    /// Called by the mailbox's handler only (an epoll callback, which never runs inside
    /// another), so it is never re-entered: each message is handed out once, in posting
    /// order, and nothing handled here can pull later messages ahead of earlier ones.
    fileprivate func drainMailbox() {
        mailbox.wakeup.drain()
        for message in mailbox.takeAll() {
            switch message {
            case .shutdown:
                beginShutdown()
            case .broadcast(let shared):
                // A copy owned by this loop: every loop got the same array, and its reference
                // count, touched once per delivery, would bounce between the cores.
                let frame = shared.withUnsafeBufferPointer { Array($0) }
                for connection in broadcastClients.values { connection.sendFrame(frame) }
                metrics.messagesDelivered.add(broadcastClients.count, ordering: .relaxed)
            case .reloadTLS(let certificate, let privateKey):
                do {
                    replaceTLSContext(try TLSContext(certificateChainPath: certificate, privateKeyPath: privateKey))
                } catch {
                    logger.error("loop \(index): TLS certificate NOT reloaded, the previous one stays in use: \(error)")
                }
            case .service(let message):
                services?.mailbox(message)
            }
        }
    }

    // MARK: - Shutdown

    /// Stop accepting, say 1001 to every WebSocket, end every event stream, let answers in
    /// flight finish, then stop
    /// the loop once every connection is gone or the grace period ends.
    func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        shutdownDeadlineMs = MonotonicClock.nowMilliseconds() + Int64(config.shutdownGraceSeconds) * 1000
        for listener in listeners {
            eventLoop.deregister(listener.fd)
            Socket.close(listener.fd)
        }
        listeners.removeAll()
        for case let connection? in connections {
            switch connection.phase {
            case .webSocket:
                connection.startClose(code: CloseCode.goingAway, reason: "server shutting down")
            case .streaming:
                // The client reconnects (to another instance, or to this one restarted)
                // with `Last-Event-ID`.
                connection.endEventStream()
            case .http:
                if !connection.isAwaitingDeferred && connection.queuedOutputBytes == 0 { connection.closeNow() }
            case .lingering, .closed:
                break
            }
        }
        checkShutdownComplete()
    }

    private func checkShutdownComplete() {
        guard connectionCount == 0 || MonotonicClock.nowMilliseconds() >= shutdownDeadlineMs else { return }
        if services?.hasPendingWork ?? false { return }
        for case let connection? in connections { connection.closeNow() }
        eventLoop.stop()
    }
}

/// Wakes the loop when another thread posted to its mailbox.
private final class MailboxHandler: EventHandler {
    private unowned let loop: ServerLoop
    init(loop: ServerLoop) { self.loop = loop }
    func handle(_ readiness: Epoll.Readiness) { loop.drainMailbox() }
}
