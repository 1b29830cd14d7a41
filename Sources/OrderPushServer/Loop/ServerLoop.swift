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
    /// The protocol settings of every connection on this loop, shared by their machines.
    let connectionSettings: ConnectionStateMachine.SharedSettings
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
    /// The loop's permessage-deflate compressors, shared by all its connections: each
    /// message is compressed from a fresh state, so no connection needs its own (~256 KiB).
    let messageCompressor = MessageCompressor()
    /// Bytes queued on this loop's connections as of their last flush: each connection adds
    /// the change of its queue when it flushes (`Connection.accountOutput`). Published to the
    /// group's `OutputBudget` once per turn. Loop-thread only, so a plain counter.
    @exclusivity(unchecked) var queuedOutputBytes = 0
    /// The figure last published, so an unchanged total is not stored again (the slots of
    /// several loops may share a cache line).
    private var publishedOutputBytes = 0
    /// Replay bytes queued this turn, not yet flushed and accounted: a replay checks the
    /// budget with them included, or one turn of replays to many clients could pass it.
    private var replayBytesThisTurn = 0
    /// Limit hits (budget and slow-consumer closes, refusals at the connection cap) are logged
    /// at most once per 10 s per kind and loop: an attack must not flood the log.
    private var limitLogThrottle = LogThrottle()

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
        connectionSettings = ConnectionStateMachine.SharedSettings(ConnectionStateMachine.Settings(
            httpLimits: httpLimits,
            headerTimeoutMs: Int64(config.headerTimeoutSeconds) * 1000,
            closeTimeoutMs: Int64(config.closeTimeoutSeconds) * 1000,
            pingIntervalMs: Int64(config.pingIntervalSeconds) * 1000,
            heartbeatIntervalMs: Int64(config.pingIntervalSeconds) * 1000))
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
            logLimitHit("connection limit", "\(config.maxConnections) connections open (--max-connections); new ones answered 503")
            OverCapacity.refuse(fd, plainHTTP: tls == nil, scratch: readBuffer)
            return
        }
        var session: TLSStream?
        if let tls {
            guard let made = try? TLSStream(fd: fd, context: tls) else {
                group.connectionEnded()
                Socket.close(fd)
                return
            }
            session = made
        }
        nextSerial += 1
        let connection = Connection(fd: fd, tls: session, serial: nextSerial, loop: self,
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
        flushQueued()
        enforceOutputBudget()
        if isShuttingDown { checkShutdownComplete() }
    }

    private func flushQueued() {
        while !flushQueue.isEmpty {
            let batch = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            for connection in batch where connection.isQueuedForFlush { connection.flush() }
        }
    }

    // MARK: - Process-wide output budget

    /// Once per turn: publishes this loop's queued bytes; when all loops together hold more
    /// than `--max-total-output-bytes`, closes this loop's largest queues (1013, output
    /// dropped) until it has shed its proportional share of the excess. Each loop sheds its
    /// own connections, so nothing crosses threads but the published totals.
    private func enforceOutputBudget() {
        replayBytesThisTurn = 0
        let budget = group.outputBudget
        if queuedOutputBytes != publishedOutputBytes {
            publishedOutputBytes = queuedOutputBytes
            budget.publish(loop: index, queuedBytes: queuedOutputBytes)
        }
        let total = budget.total(withLoop: index, at: queuedOutputBytes)
        guard total > budget.capBytes else { return }
        let share = budget.share(total: total, own: queuedOutputBytes)
        guard share > 0 else { return }
        shedLargestQueues(bytes: share, stalledOnly: false, total: total)
        flushQueued()
        publishedOutputBytes = queuedOutputBytes
        budget.publish(loop: index, queuedBytes: queuedOutputBytes)
    }

    /// Closes WebSockets with 1013, largest queue first, until `bytes` are dropped; with
    /// `stalledOnly`, only those whose client took nothing for about a second.
    /// Rare (only at the budget), so a scan and a sort of the backlogged ones is fine.
    private func shedLargestQueues(bytes: Int, stalledOnly: Bool, total: Int) {
        var largest: [Connection] = []
        for case let connection? in connections
        where connection.acceptsFrames && connection.queuedOutputBytes > 0 && (!stalledOnly || connection.isStalled) {
            largest.append(connection)
        }
        largest.sort { $0.queuedOutputBytes > $1.queuedOutputBytes }
        var shed = 0
        var closed = 0
        for connection in largest where shed < bytes {
            shed += connection.closeForOutputBudget()
            closed += 1
        }
        if closed > 0 {
            let why = stalledOnly ? "replays waiting for half of --max-total-output-bytes" : "over --max-total-output-bytes"
            logLimitHit("output budget", "\(total) bytes queued in all, \(why) (\(group.outputBudget.capBytes)); closed \(closed) WebSocket(s) holding the most with 1013 (\(shed) bytes dropped)")
        }
    }

    /// From the tick, while replays wait for the budget: queues that did not move for ~1 s
    /// hold the replays' half of the budget and would keep it until their ping timeout, so
    /// the stalled ones holding the most are closed (1013) down to this loop's share of the
    /// excess over half the budget. A client that reads, however slowly, is not touched.
    private func shedStalledQueuesForReplays() {
        let budget = group.outputBudget
        let total = budget.total(withLoop: index, at: queuedOutputBytes)
        guard total >= budget.replayLimitBytes, queuedOutputBytes > 0 else { return }
        let excess = total - budget.replayLimitBytes + 1
        let share = Int((Double(excess) * Double(queuedOutputBytes) / Double(total)).rounded(.up))
        shedLargestQueues(bytes: share, stalledOnly: true, total: total)
    }

    /// One warning line per `kind` per 10 s, with the count of those held back since.
    func logLimitHit(_ kind: String, _ message: @autoclosure () -> String) {
        guard let suppressed = limitLogThrottle.admit(kind, nowMs: MonotonicClock.nowMilliseconds()) else { return }
        logger.warning("\(kind): \(message())\(LogThrottle.suffix(suppressed))")
    }

    /// Whether a replay may queue more now: the process holds less than half the budget,
    /// counting this loop's replay bytes of this turn. Called per replayed frame (replays
    /// are not the live path).
    var replayMayQueue: Bool {
        let budget = group.outputBudget
        return budget.total(withLoop: index, at: queuedOutputBytes + replayBytesThisTurn) < budget.replayLimitBytes
    }

    /// A replay queued `n` bytes (see `replayBytesThisTurn`).
    func replayQueued(_ n: Int) { replayBytesThisTurn += n }

    // MARK: - Time

    private func tick() {
        let now = MonotonicClock.nowMilliseconds()
        for listener in listeners { listener.resumeIfPaused() }
        // O(connections) per tick (4 per second) instead of a timer per connection for
        // deadlines that almost never fire; a connection with nothing due returns after a
        // compare (`ConnectionStateMachine.nextTickDueMs`): 16,700 idle WebSockets cost
        // 0.07 s of CPU per minute in ticks, against 0.53 s when every tick walked each state.
        for case let connection? in connections { connection.tick(nowMs: now) }
        group.outputBudget.setReplaysWaiting(loop: index, services?.tick() ?? false)
        if group.outputBudget.replaysWaitAnywhere { shedStalledQueuesForReplays() }
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
            case .broadcast(let payload):
                // The frames are made here, so they are this loop's own arrays: the shared
                // payload's reference count is not touched per delivery (it would bounce
                // between the cores).
                var framed = FramedEvent(payload: payload, compressor: messageCompressor)
                // Bound once, borrowed by every plain delivery (see `FramedEvent.webSocketFrame`).
                let plain = framed.webSocketFrame
                for connection in broadcastClients.values {
                    if connection.takesPlainFrames {
                        connection.sendFrame(plain)
                    } else {
                        connection.sendFrame(framed.framedOnFirstNeed(for: connection))
                    }
                }
                metrics.messagesDelivered.add(broadcastClients.count, ordering: .relaxed)
            case .reloadTLS(let certificate, let privateKey, let ticketKeys):
                do {
                    replaceTLSContext(try TLSContext(certificateChainPath: certificate, privateKeyPath: privateKey,
                                                     ticketKeys: ticketKeys))
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
