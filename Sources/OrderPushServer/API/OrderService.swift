import JSON
import Auth
import HTTP1
import Logging
import Orders
import Reactor
import Storage
import WebSocket

/// The order product on one loop: the HTTP API, the `/ws` push protocol and the fan-out of
/// committed events to this loop's subscribers. Reads go to this loop's own read-only
/// store (WAL readers never wait for the writer); writes go to the `StorageWriter`.
final class OrderService: LoopServices {
    unowned let loop: ServerLoop
    let store: SQLiteOrderStore
    let verifier: JWTVerifier
    let writer: StorageWriter
    let epoch: String
    /// The newest `seq` this loop has fanned out. Replays read up to here and live delivery
    /// continues after it, so a new subscription sees no gap and no duplicate at the seam.
    private(set) var lastDeliveredSeq: Int64
    /// Subscriptions (by connection serial, then channel) that resumed from a seq this loop
    /// had not delivered yet because another loop heard of it first: their events up to that
    /// seq are skipped. Almost always empty; entries go once this loop has caught up.
    var skipThrough: [UInt64: [String: Int64]] = [:]
    /// Replays in progress (by connection serial, then channel): the seq read up to so far.
    var replays: [UInt64: [String: Int64]] = [:]
    private var pendingWrites = 0

    init(loop: ServerLoop, store: SQLiteOrderStore, verifier: JWTVerifier, writer: StorageWriter) throws {
        self.loop = loop
        self.store = store
        self.verifier = verifier
        self.writer = writer
        epoch = store.epoch
        lastDeliveredSeq = try store.head()
    }

    var hasPendingWork: Bool { pendingWrites > 0 }
    var config: ServerConfig { loop.config }
    var metrics: ServerMetrics { loop.metrics }

    // MARK: - Authentication

    /// The caller's claims from `Authorization: Bearer`, or (for WebSocket handshakes,
    /// which browsers cannot give headers) the `access_token` query parameter.
    func authenticate(_ request: HTTPRequest, allowQueryToken: Bool) -> Result<Claims, HTTPResponseError> {
        var token: String?
        if let header = request.headers["Authorization"] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return .failure(unauthorized("the Authorization header must be: Bearer <token>"))
            }
            token = parts[1].trimmingSpaces
        } else if allowQueryToken {
            token = request.queryValue("access_token")
        }
        guard let token, !token.isEmpty else {
            return .failure(unauthorized("a bearer token is required"))
        }
        do {
            return .success(try verifier.verify(token, now: WallClock.nowSeconds()))
        } catch {
            // The reason, never the token.
            return .failure(unauthorized("invalid token: \(error.message)"))
        }
    }

    private func unauthorized(_ message: String) -> HTTPResponseError {
        var e = HTTPResponseError(.unauthorized, "unauthorized", message)
        e.headers.add("WWW-Authenticate", #"Bearer realm="orderpush""#)
        return e
    }

    // MARK: - Writes

    func submit(_ write: OrderWrite, from connection: Connection) {
        pendingWrites += 1
        writer.submit(write, ticket: WriteTicket(loop: loop.index, fd: connection.fd, serial: connection.serial))
    }

    func complete(_ completions: [WriteCompletion]) {
        for completion in completions {
            pendingWrites -= 1
            guard let connection = loop.connection(fd: completion.ticket.fd, serial: completion.ticket.serial) else {
                continue   // the client left; the write is committed all the same
            }
            connection.completeDeferred(Self.writeResponse(completion.result))
        }
    }

    static func writeResponse(_ result: Result<WriteOutcome, WriteError>) -> HTTPResponse {
        switch result {
        case .success(let outcome):
            var w = JSONWriter(reservingCapacity: outcome.event.orderJSON.count + 32)
            w.appendRaw(#"{"order":"#)
            outcome.order.appendJSON(to: &w)
            w.appendRaw(#","seq":"#)
            w.writeInteger(outcome.event.seq)
            w.append(UInt8(ascii: "}"))
            let created = outcome.event.kind == StoredEvent.orderCreated
            var response = HTTPResponse.json(created ? .created : .ok, w.bytes)
            if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            return response
        case .failure(.orderNotFound(let id)):
            return .error(.notFound, code: "not_found", message: "no order \(id)")
        case .failure(.idempotencyConflict):
            return .error(.unprocessableContent, code: "idempotency_conflict",
                          message: "this Idempotency-Key was already used with a different body")
        case .failure(.storage):
            return .error(.serviceUnavailable, code: "storage_unavailable", message: "the change was not saved; retry")
        }
    }

    // MARK: - Connection events

    func outputDrained(_ connection: Connection) {
        guard case .push(let client)? = connection.webSocket?.endpoint else { return }
        continueReplays(on: connection, client: client)
    }

    func webSocketClosed(_ connection: Connection) {
        replays[connection.serial] = nil
        skipThrough[connection.serial] = nil
    }

    // MARK: - Fan-out

    /// Frames each event once per channel and queues the same bytes to every subscriber.
    func deliver(_ events: [StoredEvent]) {
        for event in events where event.seq > lastDeliveredSeq {
            lastDeliveredSeq = event.seq
            fanOut(event, channel: "admin")
            fanOut(event, channel: "user:" + event.userId)
        }
        if !skipThrough.isEmpty {
            skipThrough = skipThrough.compactMapValues { channels in
                let pending = channels.filter { $0.value > lastDeliveredSeq }
                return pending.isEmpty ? nil : pending
            }
        }
    }

    private func fanOut(_ event: StoredEvent, channel: String) {
        guard let subscribers = loop.registry.connections(on: channel), !subscribers.isEmpty else { return }
        let frame = FrameEncoder.frame(opcode: .text, payload: PushMessage.event(event, channel: channel))
        var delivered = 0
        for connection in subscribers {
            if !skipThrough.isEmpty, let through = skipThrough[connection.serial]?[channel], event.seq <= through { continue }
            connection.sendFrame(frame)
            delivered += 1
        }
        metrics.messagesDelivered.add(delivered, ordering: .relaxed)
    }
}
