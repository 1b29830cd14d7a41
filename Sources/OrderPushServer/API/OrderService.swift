import Auth
import HTTP1
import Logging
import Reactor
import Storage
import WebSocket

/// The order product on one loop, as the core sees it (`LoopServices`): routes each
/// request and push connection event to the type that does that one job, and hands the
/// product's mailbox messages on in order. It holds no protocol logic of its own.
///
/// - `Authenticator`: bearer or query token -> claims.
/// - `OrdersAPI`: create, update tracking, read one, legacy list.
/// - `PollingEndpoint`: `GET /api/orders?since=`.
/// - `SearchEndpoint`: `GET /api/orders/search`, checked here, read on the `DatabaseReader`.
/// - `WriteSubmission`: writes to the `StorageWriter` and their answers.
/// - `PushProtocol`: the `/ws` messages and `/api/events` streams, subscriptions, replays.
/// - `FanOut`: committed events to this loop's live subscribers.
///
/// Reads are jobs handed to `StoreReads`: run on this loop against its own store with
/// SQLite, on the `DatabaseReader` threads with PostgreSQL (a loop never waits for a
/// database), answered on this loop either way.
final class OrderService: LoopServices {
    private unowned let loop: ServerLoop
    /// Replaced when SIGHUP reloads the signing keys (`ServiceMessage.signingKeys`).
    private var authenticator: Authenticator
    private let orders: OrdersAPI
    private let polling: PollingEndpoint
    private let reads: StoreReads
    private let writes: WriteSubmission
    private let push: PushProtocol
    private let fanOut: FanOut
    private let channelHeads: ChannelHeads

    /// - Parameters:
    ///   - inlineStore: this loop's own store when reads may run on the loop (SQLite); nil
    ///     when every read goes to `reader` (PostgreSQL).
    ///   - knownEpoch: the history's epoch if known at start (empty if not).
    ///   - deliveredThrough: the log's head when the server started: the broker hands this
    ///     loop every event after it (the same starting point for every loop).
    ///   - channelHeads: polling's per-channel heads, shared by every loop.
    init(loop: ServerLoop, inlineStore: (any OrderStore)?, reader: DatabaseReader, knownEpoch: String,
         deliveredThrough: Int64, verifier: JWTVerifier, writer: StorageWriter, userWrites: UserWriteLimiter,
         channelHeads: ChannelHeads) throws {
        self.loop = loop
        reads = StoreReads(inlineStore: inlineStore, reader: reader, loop: loop,
                           failures: ReadFailureLog(logger: loop.logger), knownEpoch: knownEpoch)
        authenticator = Authenticator(verifier: verifier)
        writes = WriteSubmission(loop: loop, writer: writer)
        orders = OrdersAPI(writes: writes, userWrites: userWrites, reads: reads)
        self.channelHeads = channelHeads
        polling = PollingEndpoint(pollLimit: loop.config.pollLimit, heads: channelHeads)
        fanOut = FanOut(lastDeliveredSeq: deliveredThrough, metrics: loop.metrics,
                        compressor: loop.messageCompressor)
        push = PushProtocol(reads: reads, fanOut: fanOut, metrics: loop.metrics, loop: loop)
    }

    var hasPendingWork: Bool { writes.pending > 0 || reads.pending > 0 }

    // MARK: - HTTP

    func handle(_ route: Route, _ request: HTTPRequest, on connection: Connection) -> RequestOutcome {
        if route == .metrics, Socket.peerIsLoopback(connection.fd) {
            return .respond(metricsResponse())
        }
        let claims: Claims
        // Browsers can set no header on a WebSocket handshake or an EventSource request.
        switch authenticator.claims(of: request, allowQueryToken: route == .push || route == .events) {
        case .success(let c): claims = c
        case .failure(let e): return .respond(e.response)
        }
        switch route {
        case .metrics:
            guard claims.role == .admin else { return .respond(APIResponses.forbidden("metrics are for admins (or loopback)")) }
            return .respond(metricsResponse())
        case .push:
            return loop.upgrade(request, to: .push(PushClient(claims: claims)), maxMessageBytes: loop.config.maxMessageBytes,
                                maxOutputBytes: loop.config.maxOutputBytes)
        case .events:
            return push.eventStreamRequest(request, claims: claims, maxOutputBytes: loop.config.maxOutputBytes)
        case .orders where request.method == "POST":
            return orders.createOrder(request, claims: claims, on: connection)
        case .orders:
            switch polling.check(request, claims: claims) {
            case .refused(let answer):
                return .respond(answer)
            case .query(let query):
                if let answer = polling.notModifiedFromMemory(query, epoch: reads.knownEpoch) { return .respond(answer) }
                let polling = self.polling
                return reads.respond(to: connection) { store in try polling.poll(query, store: store) }
            }
        case .ordersManage:
            return orders.legacyList(claims: claims, on: connection)
        case .ordersSearch:
            switch SearchEndpoint.parse(request, claims: claims) {
            case .failure(let refusal):
                return .respond(refusal.response)
            case .success(let (search, wantsCounts)):
                // Off the loop with SQLite too: a page can take milliseconds.
                return reads.respond(to: connection, alwaysOffLoop: true) { store in
                    try SearchEndpoint.page(search, counts: wantsCounts, store: store)
                }
            }
        case .order(let id):
            return orders.getOrder(id, claims: claims, on: connection)
        case .orderTracking(let id):
            return orders.updateTracking(id, request, claims: claims, on: connection)
        default:
            return .respond(.error(.notFound, code: "not_found", message: "no route"))
        }
    }

    private func metricsResponse() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return HTTPResponse(status: .ok, headers: headers, body: Array(loop.metrics.render(queuedOutputBytes: loop.group.outputBudget.totalQueuedBytes).utf8))
    }

    // MARK: - WebSocket

    func webSocketMessage(_ message: WebSocketInbound, on connection: Connection) {
        guard case .push(let client)? = connection.webSocket?.endpoint else { return }
        push.received(message, client: client, on: connection)
    }

    func webSocketClosed(_ connection: Connection) {
        guard case .push(let client)? = connection.webSocket?.endpoint else { return }
        push.closed(connection, client: client)
    }

    func outputDrained(_ connection: Connection) {
        if let stream = connection.eventStream {
            return push.outputDrained(connection, client: stream.client)
        }
        guard case .push(let client)? = connection.webSocket?.endpoint else { return }
        push.outputDrained(connection, client: client)
    }

    // MARK: - Event streams

    func eventStreamOpened(_ connection: Connection) {
        guard let stream = connection.eventStream else { return }
        push.eventStreamOpened(connection, session: stream)
    }

    func eventStreamClosed(_ connection: Connection) {
        guard let stream = connection.eventStream else { return }
        push.closed(connection, client: stream.client)
    }

    func tick() -> Bool {
        push.retryReplaysPausedForBudget()
    }

    // MARK: - Mailbox

    func mailbox(_ message: ServiceMessage) {
        switch message {
        case .events(let events):
            // Other nodes' events reach polling's heads here (this node's, from the writer).
            channelHeads.record(events)
            fanOut.deliver(events)
        case .writeResults(let completions): writes.complete(completions)
        case .signingKeys(let keys): authenticator = Authenticator(verifier: JWTVerifier(keys: keys))
        case .readResults(let completions): reads.complete(completions)
        }
    }
}

/// What the order product's other threads (the writer, the broker, the reader) tell a loop, through the
/// loop's mailbox, in order.
enum ServiceMessage: Sendable {
    /// Committed events, in `seq` order, for this loop's subscribers.
    case events([StoredEvent])
    /// Answers to writes this loop submitted.
    case writeResults([WriteCompletion])
    /// SIGHUP reloaded the signing keys: requests from now on are checked against these.
    case signingKeys(JWTKeySet)
    /// Answers to reads this loop handed to the `DatabaseReader`.
    case readResults([ReadCompletion])
}
