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
///
/// Reads off the loop (`StoreReads`: with PostgreSQL the cursor check and every replay page
/// are read on a `DatabaseReader` thread and answered through the mailbox; with SQLite
/// they run inline and the answer is there at once). While such a read is away, the
/// mailbox goes on bringing events and L moves on; this is why the above still holds:
/// - Nothing is decided from a read alone. The cursor check reads the epoch, the floor and
///   (for an s above L when asked) the head; the choice between replay, live, or live with
///   a skip is made when the answer is back, from L at that moment, so it is the same choice
///   a synchronous subscribe would make in that turn.
/// - A replay page is sent only up to L at the moment it arrives (events above it come
///   live later). A page covers the channel's events up to its last one when it is full;
///   when it is short it covers what was committed when it was read, which is at least
///   L_read, the value of L when the read was asked for (everything up to L_read had been
///   handed to this loop, so it was committed before the read began; commits are visible
///   in `seq` order). The cursor then moves to min(that, L now), never to L now blindly:
///   events that reached the loop while the page was away, committed after it was read,
///   are read by the next page instead of being skipped. The replay goes live only in a
///   turn where its cursor equals L (no mailbox message is handled inside a turn), so the
///   next live event is L+1: no gap, no duplicate.
/// - A page or a check that comes back for a replay that was cancelled, started over, or
///   whose connection closed, is dropped (replays carry an id; connections are looked up
///   by descriptor and serial). One page per channel is away at a time, and a `/ws`
///   connection whose subscribe check is away has its later messages held and handled in
///   order afterwards, so replies keep the order of the client's messages.
final class PushProtocol {
    /// Events read from the log per query while replaying.
    private static let replayPage = 200

    /// Messages, and their bytes, held at most per connection while its subscribe waits for
    /// a read (a subscribe message is about 100 bytes).
    static let maxHeldMessages = 64
    static let maxHeldBytes = 64 * 1024

    /// Where the log is read (on the loop with SQLite, on the `DatabaseReader` with
    /// PostgreSQL): every read below is a job whose answer may come later.
    private let reads: StoreReads
    private let fanOut: FanOut
    private let metrics: ServerMetrics
    /// One replay in progress on one channel: the seq sent up to so far, and whether a page
    /// read is on its way. `id` tells a late page of a replay that was cancelled (or
    /// started over) from one of the replay now in progress.
    private struct Replay {
        var cursor: Int64
        let id: UInt64
        var reading = false
    }
    /// Replays in progress (by connection serial, then channel).
    private var replays: [UInt64: [String: Replay]] = [:]
    private var nextReplayID: UInt64 = 0
    /// Connections whose subscribe waits for its cursor check (a read on the reader), with
    /// the messages they sent meanwhile: these are handled, in order, once the subscribe is
    /// answered, so the client's replies keep the order of its messages.
    private var held: [UInt64: [WebSocketInbound]] = [:]
    /// Replays paused because the process's queued output is at half its budget. Nothing
    /// will tell them when it falls (their own queue may be empty, so no drain notification
    /// comes): the loop's tick retries them.
    private var pausedForBudget: [UInt64: (Connection, PushClient)] = [:]
    /// Replays whose next page the reader refused (its queue was full): retried on the tick.
    private var waitingForReader: [UInt64: (Connection, PushClient)] = [:]
    /// The loop, for the process-wide output budget (`replayMayQueue`). It owns the product.
    private unowned let loop: ServerLoop

    init(reads: StoreReads, fanOut: FanOut, metrics: ServerMetrics, loop: ServerLoop) {
        self.reads = reads
        self.fanOut = fanOut
        self.metrics = metrics
        self.loop = loop
    }

    private var lastDeliveredSeq: Int64 { fanOut.lastDeliveredSeq }

    // MARK: - Connection events

    func received(_ message: WebSocketInbound, client: PushClient, on connection: Connection) {
        if let waiting = held[connection.serial] {
            guard waiting.count < Self.maxHeldMessages,
                  waiting.reduce(Self.size(of: message), { $0 + Self.size(of: $1) }) <= Self.maxHeldBytes else {
                held[connection.serial] = nil
                return connection.startClose(code: CloseCode.policyViolation,
                                             reason: "too many messages while a subscribe waits for the database")
            }
            held[connection.serial]!.append(message)
            return
        }
        switch message {
        case .text(let bytes):
            handle(bytes, client: client, on: connection)
        case .binary:
            sendError(code: "bad_request", message: "messages are JSON in text frames", channel: nil, on: connection)
        default:
            break
        }
    }

    private static func size(of message: WebSocketInbound) -> Int {
        switch message {
        case .text(let bytes), .binary(let bytes), .ping(let bytes), .pong(let bytes): return bytes.count
        default: return 0
        }
    }

    func closed(_ connection: Connection, client: PushClient) {
        for channel in client.channels { cancel(channel, of: connection, client: client) }
        replays[connection.serial] = nil
        held[connection.serial] = nil
        pausedForBudget[connection.serial] = nil
        waitingForReader[connection.serial] = nil
    }

    /// From the loop's tick: replays paused for the output budget, or refused by a full
    /// reader queue, try again. Returns whether some are still paused for the budget.
    func retryReplaysPausedForBudget() -> Bool {
        if !waitingForReader.isEmpty {
            let waiting = waitingForReader
            waitingForReader = [:]
            for (connection, client) in waiting.values where connection.isOpen {
                continueReplays(on: connection, client: client)
            }
        }
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

    /// What a subscribe needs from the log, read in one job: the history's epoch and, with a
    /// cursor, the retained floor and (when the cursor is above what this loop has
    /// delivered) the log's head.
    private struct CursorCheck: Sendable {
        let epoch: String
        let floor: Int64?
        let head: Int64?
    }

    /// A permitted subscription with its cursor, from a `/ws` message or an event stream's
    /// request: checks the cursor, then replays or goes live (the seam above). Without a
    /// cursor, and once the epoch is known, nothing is read; otherwise the check is a read
    /// job, and while it is on the reader the connection's further messages are held.
    private func subscribe(_ channel: String, since: Int64?, clientEpoch: String?, client: PushClient, on connection: Connection) {
        if since == nil, let epoch = reads.knownEpoch {
            return subscribe(channel, since: nil, clientEpoch: clientEpoch, checked: .success(CursorCheck(epoch: epoch, floor: nil, head: nil)),
                             client: client, on: connection)
        }
        // With several loops, another loop may already have delivered `since`: it is
        // committed, only not yet handed to this loop. The log's head tells.
        let needsHead = since.map { $0 > lastDeliveredSeq } ?? false
        let fd = connection.fd, serial = connection.serial
        let job: @Sendable (any OrderStore) throws -> CursorCheck = { store in
            let epoch = store.epoch
            guard since != nil, !epoch.isEmpty else { return CursorCheck(epoch: epoch, floor: nil, head: nil) }
            let floor = try store.retainedFloor()
            return CursorCheck(epoch: epoch, floor: floor, head: needsHead ? try? store.head() : nil)
        }
        switch reads.start(job, then: { [unowned self] result in
            // Closed meanwhile (`closed` dropped the entry): the answer is dropped.
            guard let waiting = held.removeValue(forKey: serial), let connection = loop.connection(fd: fd, serial: serial) else { return }
            subscribe(channel, since: since, clientEpoch: clientEpoch, checked: result, client: client, on: connection)
            // In order; one of them may start another check, and hold the rest again.
            for message in waiting { received(message, client: client, on: connection) }
        }) {
        case .done(let result):
            subscribe(channel, since: since, clientEpoch: clientEpoch, checked: result, client: client, on: connection)
        case .started:
            held[serial] = []
        case .refused:
            sendError(code: "unavailable", message: "too many reads are waiting for the database; retry in a second",
                      channel: channel, on: connection)
        }
    }

    /// The subscribe, once its cursor check is read.
    private func subscribe(_ channel: String, since: Int64?, clientEpoch: String?, checked: Result<CursorCheck, ReadFailure>,
                           client: PushClient, on connection: Connection) {
        guard connection.acceptsPushMessages else { return }
        let check: CursorCheck
        switch checked {
        case .success(let c):
            check = c
        case .failure(let failure):
            reads.failures.note("event log read failed (subscribe): \(failure)", kind: "read")
            return sendError(code: "unavailable", message: "the event log could not be read; retry", channel: channel, on: connection)
        }
        let epoch = check.epoch
        guard !epoch.isEmpty else {
            // A shared database this node has not reached yet: nothing to resume from.
            return sendError(code: "unavailable", message: "the event log could not be read; retry", channel: channel, on: connection)
        }
        reads.knownEpoch = epoch
        if let since {
            if let clientEpoch, clientEpoch != epoch {
                return sendError(code: "cursor_expired", message: "this cursor belongs to another event history; reload over HTTP",
                                 channel: channel, on: connection)
            }
            let floor = check.floor ?? 0
            // L now, not when the check was submitted: it can only have grown, and a head
            // read then bounds what was committed then.
            var head = lastDeliveredSeq
            if since > head, let committed = check.head { head = committed }
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
            nextReplayID &+= 1
            replays[connection.serial, default: [:]][channel] = Replay(cursor: since, id: nextReplayID)
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
    /// continues when the queue has drained (`outputDrained`), when a page read on the
    /// reader comes back, or, when the process's budget or a full reader queue held it back,
    /// on the loop's tick. A long backlog therefore flows at the client's pace instead of
    /// tripping the slow-consumer limit, and many replays at once cannot fill the memory.
    /// The target is `lastDeliveredSeq` as it moves: events that arrive meanwhile are read
    /// from the log too, and the subscription goes live only once the replay has caught up,
    /// so there is no gap and no duplicate at the seam.
    private func continueReplays(on connection: Connection, client: PushClient) {
        guard let pending = replays[connection.serial] else {
            connection.notifiesWhenDrained = false
            return
        }
        var heldByProcessBudget = false, refusedByReader = false
        for channel in pending.keys {
            switch advance(channel, on: connection, client: client) {
            case .running: break
            case .heldByProcessBudget: heldByProcessBudget = true
            case .refusedByReader: refusedByReader = true
            case .closed: return
            }
        }
        if replays[connection.serial]?.isEmpty ?? true {
            replays[connection.serial] = nil
            connection.notifiesWhenDrained = false
        } else {
            if heldByProcessBudget { pausedForBudget[connection.serial] = (connection, client) }
            if refusedByReader { waitingForReader[connection.serial] = (connection, client) }
        }
    }

    private enum ReplayProgress { case running, heldByProcessBudget, refusedByReader, closed }

    /// Moves one channel's replay on: reads pages (inline, or one at a time on the reader)
    /// and sends them, until it is live, a page is on its way, or the output is full.
    private func advance(_ channel: String, on connection: Connection, client: PushClient) -> ReplayProgress {
        let serial = connection.serial, fd = connection.fd
        let userScope = Channel.userScope(of: channel)
        while let replay = replays[serial]?[channel], !replay.reading {
            if replay.cursor >= lastDeliveredSeq {
                replays[serial]?[channel] = nil
                follow(channel, connection: connection, client: client)
                return .running
            }
            guard connection.queuedOutputBytes < connection.outputCapacity / 2 else { return .running }
            guard loop.replayMayQueue else { return .heldByProcessBudget }
            // L when the page is asked for: every event up to it is committed by then, so a
            // short page read after this moment has all of the channel's events up to it.
            let targetAtRead = lastDeliveredSeq
            let after = replay.cursor
            let job: @Sendable (any OrderStore) throws -> [StoredEvent] = { store in
                try store.events(after: after, userId: userScope, limit: Self.replayPage)
            }
            replays[serial]?[channel]?.reading = true
            switch reads.start(job, then: { [unowned self] result in
                guard let connection = loop.connection(fd: fd, serial: serial),
                      let client = Self.pushClient(of: connection) else { return }   // closed meanwhile
                guard pageRead(result, channel: channel, replayID: replay.id, targetAtRead: targetAtRead, on: connection) else { return }
                continueReplays(on: connection, client: client)
            }) {
            case .done(let result):
                guard pageRead(result, channel: channel, replayID: replay.id, targetAtRead: targetAtRead, on: connection) else {
                    return .closed
                }
            case .started:
                return .running
            case .refused:
                replays[serial]?[channel]?.reading = false
                return .refusedByReader
            }
        }
        return .running
    }

    /// Sends a page read for a replay, if that replay is still in progress (it may have been
    /// cancelled or started over while the page was read). Returns false when the
    /// connection no longer takes push messages (the replay is over).
    private func pageRead(_ result: Result<[StoredEvent], ReadFailure>, channel: String, replayID: UInt64,
                          targetAtRead: Int64, on connection: Connection) -> Bool {
        guard var replay = replays[connection.serial]?[channel], replay.id == replayID else { return true }
        replay.reading = false
        let page: [StoredEvent]
        switch result {
        case .success(let events):
            page = events
        case .failure(let failure):
            reads.failures.note("event log read failed (replay; closing the subscriber): \(failure)", kind: "read")
            replays[connection.serial] = nil
            if connection.isEventStream { connection.endEventStream() } else {
                connection.startClose(code: CloseCode.internalError, reason: "event log unreadable; resume with since")
            }
            return false
        }
        let budget = connection.outputCapacity / 2
        var sentAll = true
        for event in page where event.seq <= lastDeliveredSeq {
            guard connection.queuedOutputBytes < budget, loop.replayMayQueue else { sentAll = false; break }
            var framed = FramedEvent(event, channel: channel, compressor: fanOut.compressor)
            let frame = framed.bytes(for: connection)
            connection.sendFrame(frame)
            loop.replayQueued(frame.count)
            replay.cursor = event.seq
        }
        guard connection.acceptsPushMessages else { return false }
        // A page sent whole covers the channel's events up to its last one (a full page), or
        // up to what was committed when it was read (a short page): at least `targetAtRead`.
        // The cursor moves there, but never past L: what is above L comes live.
        if sentAll {
            let covered = page.count < Self.replayPage ? targetAtRead : (page.last?.seq ?? targetAtRead)
            replay.cursor = max(replay.cursor, min(covered, lastDeliveredSeq))
        }
        replays[connection.serial]?[channel] = replay
        return true
    }

    /// The push client of a `/ws` connection or an event stream.
    private static func pushClient(of connection: Connection) -> PushClient? {
        if let stream = connection.eventStream { return stream.client }
        if case .push(let client)? = connection.webSocket?.endpoint { return client }
        return nil
    }
}
