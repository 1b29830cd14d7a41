import Auth
import HTTP1
import JSON
import Storage
import WebSocket

/// The `/ws` protocol of docs/PROTOCOL.md §3 on one loop: the client's messages
/// (subscribe with replay from `since`, unsubscribe), replays paced by the client's
/// reading, and hand-over of each subscription to the `FanOut` for live delivery.
///
/// An event stream (`GET /api/events`, Server-Sent Events) is a subscriber too: its one
/// subscription comes from the request (`channel`, `Last-Event-ID` or `since`, `epoch`) and
/// goes through the same subscribe, replay and seam as a `/ws` subscribe; only the framing
/// differs (`PushFraming`), and an error ends the stream (the client has no way to answer).
///
/// The seam between replay and live delivery. Let L be `fanOut.lastDeliveredSeq`, the
/// newest event this loop has handed to its live subscribers; events reach the loop in
/// `seq` order through its mailbox, and only the mailbox handler takes them out
/// (`ServerLoop.drainMailbox` is not reachable from here), one message after the other.
/// - A subscription is either replaying (a cursor c < L, not registered with the fan-out)
///   or live (registered: it gets every event above L from then on, as L moves).
/// - Subscribing never takes messages from the mailbox. It decides from L, i.e. from what
///   this loop has delivered, plus the log's head for a `since` above L. Events committed
///   but not yet handed to this loop come later through the mailbox, to live subscribers.
///   (A subscribe that drained the mailbox itself, while running from a write completion
///   in the middle of a mailbox batch, delivered newer events before the rest of that
///   batch; the older ones were then dropped as already delivered: a silent gap for every
///   existing subscriber.)
/// For the new subscriber, with `since` = s:
/// - no s, or s == L: live at once; the next event it gets is L+1. No gap, no duplicate.
/// - s < L: a replay reads (s, L] from the log, L as it moves, and goes live in the same
///   turn as its cursor reaches L, so the next live event is L+1.
/// - s > L (committed: at most the log's head; another loop delivered it first): live at
///   once with events up to s skipped; (L, s] arrive later through the mailbox and are
///   dropped for this subscriber only.
/// For existing subscribers: a subscribe changes neither L nor the mailbox, so what they
/// get is exactly the sequence of events the mailbox brings, each once.
final class PushProtocol {
    /// Events read from the log per query while replaying.
    private static let replayPage = 200

    private let log: any EventLog
    private let fanOut: FanOut
    private let metrics: ServerMetrics
    private let reads: ReadFailureLog
    /// Replays in progress (by connection serial, then channel): the seq read up to so far.
    private var replays: [UInt64: [String: Int64]] = [:]
    /// Replays paused because the process's queued output is at half its budget. Nothing
    /// will tell them when it falls (their own queue may be empty, so no drain notification
    /// comes): the loop's tick retries them.
    private var pausedForBudget: [UInt64: (Connection, PushClient)] = [:]
    /// The loop, for the process-wide output budget (`replayMayQueue`). It owns the product.
    private unowned let loop: ServerLoop

    init(log: any EventLog, fanOut: FanOut, metrics: ServerMetrics, reads: ReadFailureLog, loop: ServerLoop) {
        self.log = log
        self.fanOut = fanOut
        self.metrics = metrics
        self.reads = reads
        self.loop = loop
    }

    private var lastDeliveredSeq: Int64 { fanOut.lastDeliveredSeq }

    // MARK: - Connection events

    func received(_ message: WebSocketInbound, client: PushClient, on connection: Connection) {
        switch message {
        case .text(let bytes):
            handle(bytes, client: client, on: connection)
        case .binary:
            sendError(code: "bad_request", message: "messages are JSON in text frames", channel: nil, on: connection)
        default:
            break
        }
    }

    func closed(_ connection: Connection, client: PushClient) {
        for channel in client.channels { cancel(channel, of: connection, client: client) }
        replays[connection.serial] = nil
        pausedForBudget[connection.serial] = nil
    }

    /// From the loop's tick: replays paused for the output budget try again. Returns whether
    /// some are still paused.
    func retryReplaysPausedForBudget() -> Bool {
        guard !pausedForBudget.isEmpty else { return false }
        let waiting = pausedForBudget
        pausedForBudget = [:]
        for (connection, client) in waiting.values where connection.isOpen {
            continueReplays(on: connection, client: client)
        }
        return !pausedForBudget.isEmpty
    }

    func outputDrained(_ connection: Connection, client: PushClient) {
        continueReplays(on: connection, client: client)
    }

    // MARK: - Event streams

    /// `GET /api/events?channel=C[&since=N][&epoch=E]` with `Last-Event-ID` taking the place
    /// of `since`: refused with 400/403 before the stream starts, so an `EventSource` sees an
    /// HTTP error (and stops) rather than a stream that ends at once (and retries forever).
    func eventStreamRequest(_ request: HTTPRequest, claims: Claims, maxOutputBytes: Int) -> RequestOutcome {
        guard let channel = request.queryValue("channel"), Channel.isValid(channel) else {
            return .respond(.error(.badRequest, code: "bad_request",
                                   message: "channel must be \"admin\" or \"user:<id>\" (query parameter)"))
        }
        guard Self.mayFollow(channel, claims) else {
            return .respond(APIResponses.forbidden("role \(claims.role.rawValue) may not follow \(channel)"))
        }
        // The browser's own resume wins over the `since` the stream was opened with: it is
        // the last event this `EventSource` received.
        let lastEventID = request.headers["Last-Event-ID"]?.trimmingSpaces
        let rawSince = lastEventID.flatMap { $0.isEmpty ? nil : $0 } ?? request.queryValue("since")
        var since: Int64?
        if let rawSince, !rawSince.isEmpty {
            guard let n = Int64(rawSince), n >= 0 else {
                return .respond(.error(.badRequest, code: "bad_request",
                                       message: "since (or Last-Event-ID) must be a non-negative integer"))
            }
            since = n
        }
        let epoch = request.queryValue("epoch").flatMap { $0.isEmpty ? nil : $0 }
        var headers = HTTPHeaders()
        headers.add("Content-Type", ServerSentEvents.contentType)
        headers.add("Cache-Control", "no-cache")
        // nginx buffers proxied answers unless told not to; a buffered stream delivers nothing.
        headers.add("X-Accel-Buffering", "no")
        let session = EventStreamSession(client: PushClient(claims: claims), channel: channel, since: since, epoch: epoch,
                                         maxOutputBytes: maxOutputBytes)
        return .eventStream(HTTPResponse(status: .ok, headers: headers), session)
    }

    /// The stream's head is queued: subscribe as a `/ws` subscribe with the same cursor would.
    func eventStreamOpened(_ connection: Connection, session: EventStreamSession) {
        subscribe(session.channel, since: session.since, clientEpoch: session.epoch, client: session.client, on: connection)
    }

    // MARK: - Messages

    private func handle(_ bytes: [UInt8], client: PushClient, on connection: Connection) {
        let message: JSONValue
        do {
            message = try JSONValue.parse(bytes, maxDepth: 8)
        } catch {
            return sendError(code: "bad_request", message: "messages must be JSON objects: \(error)", channel: nil, on: connection)
        }
        guard message.isObject, let type = message["type"]?.stringValue else {
            return sendError(code: "bad_request", message: "a message needs a string \"type\"", channel: nil, on: connection)
        }
        switch type {
        case "subscribe", "unsubscribe":
            guard let channel = message["channel"]?.stringValue else {
                return sendError(code: "bad_request", message: "\(type) needs a string \"channel\"", channel: nil, on: connection)
            }
            guard Channel.isValid(channel) else {
                return sendError(code: "bad_request", message: "unknown channel; use \"admin\" or \"user:<id>\"",
                                 channel: channel, on: connection)
            }
            if type == "unsubscribe" {
                cancel(channel, of: connection, client: client)
                connection.sendFrame(FrameEncoder.frame(opcode: .text, payload: PushMessage.unsubscribed(channel: channel)))
            } else {
                subscribe(message, channel: channel, client: client, on: connection)
            }
        default:
            sendError(code: "bad_request", message: "unknown message type \"\(type)\"", channel: nil, on: connection)
        }
    }

    /// On an event stream an error ends the stream: its only subscription failed.
    private func sendError(code: String, message: String, channel: String?, on connection: Connection) {
        // The channel is echoed so the client can match the error, but an invalid one may be
        // as long as a message (1 MiB): its first 256 bytes are enough to recognise it, and a
        // flood of such messages then cannot make each reply as large as the request.
        var channel = channel
        if let c = channel, c.utf8.count > 256, !Channel.isValid(c) { channel = String(decoding: c.utf8.prefix(256), as: UTF8.self) }
        let payload = PushMessage.error(code: code, message: message, channel: channel)
        connection.sendFrame(connection.pushFraming.frame(payload, eventName: "error"))
        if connection.isEventStream { connection.endEventStream() }
    }

    static func mayFollow(_ channel: String, _ claims: Claims) -> Bool {
        switch claims.role {
        case .admin, .service: return true
        case .user: return channel == Channel.user(claims.sub)
        }
    }

    private func subscribe(_ message: JSONValue, channel: String, client: PushClient, on connection: Connection) {
        guard Self.mayFollow(channel, client.claims) else {
            return sendError(code: "forbidden", message: "role \(client.claims.role.rawValue) may not follow \(channel)",
                             channel: channel, on: connection)
        }
        var since: Int64?
        if let raw = message["since"], !raw.isNull {
            guard let n = raw.int64Value, n >= 0 else {
                return sendError(code: "bad_request", message: "since must be a non-negative integer", channel: channel, on: connection)
            }
            since = n
        }
        var clientEpoch: String?
        if let raw = message["epoch"], !raw.isNull {
            guard let e = raw.stringValue else {
                return sendError(code: "bad_request", message: "epoch must be a string", channel: channel, on: connection)
            }
            clientEpoch = e
        }
        subscribe(channel, since: since, clientEpoch: clientEpoch, client: client, on: connection)
    }

    /// A permitted subscription with its cursor, from a `/ws` message or an event stream's
    /// request: checks the cursor, then replays or goes live (the seam above).
    private func subscribe(_ channel: String, since: Int64?, clientEpoch: String?, client: PushClient, on connection: Connection) {
        let epoch = log.epoch
        guard !epoch.isEmpty else {
            // A shared database this node has not reached yet: nothing to resume from.
            return sendError(code: "unavailable", message: "the event log could not be read; retry", channel: channel, on: connection)
        }
        if let since {
            if let clientEpoch, clientEpoch != epoch {
                return sendError(code: "cursor_expired", message: "this cursor belongs to another event history; reload over HTTP",
                                 channel: channel, on: connection)
            }
            let floor: Int64
            do { floor = try log.retainedFloor() } catch {
                reads.note("event log read failed (subscribe): \(error)", kind: "read")
                return sendError(code: "unavailable", message: "the event log could not be read; retry", channel: channel, on: connection)
            }
            // With several loops, another loop may already have delivered `since`: it is
            // committed, only not yet handed to this loop. The log's head tells.
            var head = lastDeliveredSeq
            if since > head, let committed = try? log.head() { head = committed }
            if since < floor || since > head {
                return sendError(code: "cursor_expired",
                                 message: since < floor ? "events after \(since) are no longer retained; reload over HTTP"
                                                        : "seq \(since) is not in this history; reload over HTTP",
                                 channel: channel, on: connection)
            }
        }
        // A repeated subscribe starts over: the client asked for this replay explicitly.
        cancel(channel, of: connection, client: client)
        let head = max(lastDeliveredSeq, since ?? 0)
        let replaying = since.map { $0 < lastDeliveredSeq } ?? false
        // On an event stream, `subscribed` carries `id: head` when nothing is replayed: the
        // client then has everything up to `head`, and a browser that reconnects before the
        // next event resumes from there (with `Last-Event-ID`) instead of live-only. During a
        // replay the replayed events' ids do that; an id of `head` would skip them.
        connection.sendFrame(connection.pushFraming.frame(PushMessage.subscribed(channel: channel, head: head, epoch: epoch),
                                                          eventName: "subscribed", id: replaying ? nil : head))
        if let since, replaying {
            replays[connection.serial, default: [:]][channel] = since
            connection.notifiesWhenDrained = true
            continueReplays(on: connection, client: client)
        } else {
            // Nothing to replay. A `since` above L: the events up to it are on their way to
            // this loop and the client has them already.
            follow(channel, connection: connection, client: client, skippingThrough: since)
        }
    }

    /// Ends a subscription or a replay in progress on `channel`.
    private func cancel(_ channel: String, of connection: Connection, client: PushClient) {
        replays[connection.serial]?[channel] = nil
        guard let i = client.channels.firstIndex(of: channel) else { return }
        client.channels.remove(at: i)
        fanOut.remove(connection, from: channel)
        if channel == Channel.admin {
            metrics.adminSubscriptions.subtract(1, ordering: .relaxed)
        } else {
            metrics.userSubscriptions.subtract(1, ordering: .relaxed)
        }
    }

    /// Live delivery from now on: the replay (if any) has reached `lastDeliveredSeq`.
    private func follow(_ channel: String, connection: Connection, client: PushClient, skippingThrough: Int64? = nil) {
        client.channels.append(channel)
        fanOut.add(connection, to: channel, skippingThrough: skippingThrough)
        if channel == Channel.admin {
            metrics.adminSubscriptions.add(1, ordering: .relaxed)
        } else {
            metrics.userSubscriptions.add(1, ordering: .relaxed)
        }
    }

    /// Replays stored events while the connection's queue stays under half its cap and the
    /// process's queued output under half its budget (`ServerLoop.replayMayQueue`), and
    /// continues when the queue has drained (`outputDrained`) or, when the process's budget
    /// held it back, on the loop's tick. A long backlog therefore flows at the client's pace
    /// instead of tripping the slow-consumer limit, and many replays at once cannot fill the
    /// memory. The target is `lastDeliveredSeq` as it moves: events that arrive meanwhile
    /// are read from the log too, and the subscription goes live only once the replay has
    /// caught up, so there is no gap and no duplicate at the seam.
    private func continueReplays(on connection: Connection, client: PushClient) {
        guard let pending = replays[connection.serial] else {
            connection.notifiesWhenDrained = false
            return
        }
        let budget = connection.outputCapacity / 2
        var heldByProcessBudget = false
        func mayQueue() -> Bool {
            guard connection.queuedOutputBytes < budget else { return false }
            if loop.replayMayQueue { return true }
            heldByProcessBudget = true
            return false
        }
        for (channel, start) in pending {
            var cursor = start
            let userScope = Channel.userScope(of: channel)
            while cursor < lastDeliveredSeq, mayQueue() {
                let page: [StoredEvent]
                do {
                    page = try log.events(after: cursor, userId: userScope, limit: Self.replayPage)
                } catch {
                    reads.note("event log read failed (replay; closing the subscriber): \(error)", kind: "read")
                    replays[connection.serial] = nil
                    if connection.isEventStream { return connection.endEventStream() }
                    return connection.startClose(code: CloseCode.internalError, reason: "event log unreadable; resume with since")
                }
                var sentAll = true
                for event in page where event.seq <= lastDeliveredSeq {
                    guard mayQueue() else { sentAll = false; break }
                    var framed = FramedEvent(event, channel: channel, compressor: fanOut.compressor)
                    let frame = framed.bytes(for: connection)
                    connection.sendFrame(frame)
                    loop.replayQueued(frame.count)
                    cursor = event.seq
                }
                guard connection.acceptsPushMessages else { return }
                // A page sent whole that was short, or that reached past what this loop has
                // delivered, means the channel has nothing more up to `lastDeliveredSeq`.
                if sentAll && (page.count < Self.replayPage || (page.last?.seq ?? 0) >= lastDeliveredSeq) {
                    cursor = lastDeliveredSeq
                }
            }
            if cursor >= lastDeliveredSeq {
                replays[connection.serial]?[channel] = nil
                follow(channel, connection: connection, client: client)
            } else {
                replays[connection.serial]?[channel] = cursor
            }
        }
        if replays[connection.serial]?.isEmpty ?? true {
            replays[connection.serial] = nil
            connection.notifiesWhenDrained = false
        } else if heldByProcessBudget {
            pausedForBudget[connection.serial] = (connection, client)
        }
    }
}
