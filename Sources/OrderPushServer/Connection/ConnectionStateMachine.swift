import HTTP1
import WebSocket

/// The protocol side of one connection, as a value: HTTP/1.1 (pipelining, deferred answers,
/// header and keep-alive timeouts), then possibly WebSocket (close handshake, pings, message
/// rate) or an event stream (Server-Sent Events: heartbeats, the end of the stream), then a
/// lingering close. No sockets and no clock: events come in with the time and
/// the queued output size, and every transition returns one `Action` for the owner
/// (`Connection`) to carry out. Unit tests drive it directly.
///
/// Input is pulled: `received(_:)` only buffers bytes; the owner then calls `nextInput(...)`
/// until it returns `.none`, so the application is never called while the machine is being
/// mutated, and a request handed out with `.handleRequest` is answered (`requestHandled`)
/// before the next one is parsed.
///
/// Each state carries its own data, so there is no parser without HTTP and no reader without
/// WebSocket. Transitions that mutate a payload first move it out of `state` (`take()`), so
/// the parser's and reader's buffers stay uniquely referenced and are never copied.
///
/// Memory: an idle WebSocket is what a server holds by the thousand, so the machine's inline
/// size is kept to what such a connection needs (docs/BENCHMARKS.md, "Idle memory per
/// connection"): the settings are shared by all machines of a loop (`SharedSettings`), the
/// HTTP state lives in its own allocation (`HTTPState` is a class, freed at the upgrade), and
/// the WebSocket reader exists only while a frame or message is in progress
/// (`WebSocketState.readerBox`). The machine has one owner and is never copied, so these
/// references are never shared between machines.
struct ConnectionStateMachine {
    struct Settings {
        var httpLimits = HTTPParserLimits()
        var headerTimeoutMs: Int64 = 10_000
        var closeTimeoutMs: Int64 = 5_000
        var pingIntervalMs: Int64 = 30_000
        /// Comment lines on an event stream, so proxies do not cut it while no event comes.
        var heartbeatIntervalMs: Int64 = 30_000
        /// How long a lingering close waits for the peer's FIN.
        var lingerMs: Int64 = 2_000
        /// Pipelined requests stop being processed while this much output waits, so a client
        /// that sends without reading cannot make us queue without bound.
        var pipelineOutputPause = 256 * 1024
    }

    /// One `Settings` for every machine of a loop: a reference per connection instead of
    /// the whole value.
    final class SharedSettings {
        let value: Settings
        init(_ value: Settings) { self.value = value }
    }

    enum Phase { case http, webSocket, streaming, lingering, closed }

    /// What the owner must do.
    enum Action {
        case none
        /// Queue these bytes (a pong, a ping, a close frame, `100 Continue`).
        case send([UInt8])
        /// Queue this close frame (1008): the client sent more messages than its rate allows.
        /// Apart from `send` so the owner can count and log the limit hit.
        case closeOverMessageRate([UInt8])
        /// Queue this HTTP answer (counted by status).
        case respond([UInt8], status: Int)
        /// Ask the application; report its answer with `requestHandled`.
        case handleRequest(HTTPRequest)
        /// Queue the 101 answer, adopt the endpoint's output cap and tell the application the
        /// WebSocket is open; frames already received after the handshake are in the reader.
        case openWebSocket(response: [UInt8], maxOutputBytes: Int)
        /// Queue the event stream's response head, adopt its output cap and tell the
        /// application the stream is open; from here on the application writes events.
        case openEventStream(response: [UInt8], maxOutputBytes: Int)
        /// A complete text or binary message for the application.
        case handleMessage(WebSocketInbound)
        /// Drop the connection now; then call `closed()`.
        case closeNow
        /// Everything is written: half-close, then read until the peer closes; then call
        /// `startedLingering(nowMs:)`.
        case halfCloseAndLinger
    }

    /// A request handed to the application whose answer has not been queued yet.
    struct PendingRequest {
        let keepAlive: Bool
        let headOnly: Bool
        let version: HTTPVersion
    }

    /// A class: its parser is large, and keeping it inline would make every upgraded
    /// connection carry its room. Allocated per connection, freed at the upgrade.
    final class HTTPState {
        var parser: HTTPRequestParser
        /// Header deadline of the request being read, or the keep-alive idle limit.
        var deadlineMs: Int64
        /// Set from `.handleRequest` until the answer is queued; stays set while deferred.
        var pending: PendingRequest?
        /// The client half-closed: answer what it sent, then close.
        var peerFinished = false

        init(parser: HTTPRequestParser, deadlineMs: Int64) {
            self.parser = parser
            self.deadlineMs = deadlineMs
        }
    }

    /// The reader of a WebSocket while it holds something (a partial frame, an open message,
    /// an inflater, buffered input, or its stopped state).
    final class ReaderBox {
        var reader: WebSocketReader
        init(_ reader: WebSocketReader) { self.reader = reader }
    }

    struct WebSocketState {
        /// nil while the reader is at rest (`WebSocketReader.isAtRest`): a fresh reader made
        /// from the session's limits reads the next frame exactly as the old one would. Most WebSockets
        /// are idle most of the time, and the reader's ~150 bytes (and any buffer capacity
        /// it kept) would otherwise stay with each one.
        private var readerBox: ReaderBox?
        /// What the state keeps of the application's `WebSocketSession`: its output cap and
        /// message rate are used once, at the upgrade, so they are not carried (32 B less).
        let endpoint: WebSocketSession.Endpoint
        let maxMessageBytes: Int
        let deflate: DeflateParameters?
        var closeSent = false
        /// When the close handshake we started gives up (set with `closeSent`).
        var closeDeadlineMs: Int64 = .max
        var lastInboundMs: Int64
        /// When the unanswered ping went out; nil: none is outstanding. Stored as a plain
        /// Int64 (`.min` for none): an optional's tag byte would cost 8 bytes of padding here.
        var pingSentAtMs: Int64? {
            get { pingSentAt == .min ? nil : pingSentAt }
            set { pingSentAt = newValue ?? .min }
        }
        private var pingSentAt: Int64 = .min
        var messageBucket: TokenBucket?

        init(session: WebSocketSession, nowMs: Int64) {
            endpoint = session.endpoint
            maxMessageBytes = session.maxMessageBytes
            deflate = session.deflate
            lastInboundMs = nowMs
            messageBucket = session.messageRate.map {
                TokenBucket(capacity: Double($0.burst), ratePerSecond: Double($0.perSecond), nowMs: nowMs)
            }
        }

        /// Buffers bytes from the client (see `WebSocketReader.feed`), making the reader if
        /// it was at rest.
        mutating func feed(_ bytes: UnsafeRawBufferPointer) {
            guard !bytes.isEmpty else { return }
            let box: ReaderBox
            if let current = readerBox {
                box = current
            } else {
                box = ReaderBox(WebSocketReader(maxMessageBytes: maxMessageBytes, inflation: deflate?.inflation))
                readerBox = box
            }
            box.reader.feed(bytes)
        }

        /// The next complete item (see `WebSocketReader.next`); a reader left at rest is freed.
        mutating func nextItem() -> WebSocketInbound? {
            guard let box = readerBox else { return nil }
            if let item = box.reader.next() { return item }
            if box.reader.isAtRest { readerBox = nil }
            return nil
        }

        /// Whether a reader is held (it is not at rest).
        var holdsReader: Bool { readerBox != nil }
    }

    /// An event stream (`text/event-stream`) after its response head: the body runs until the
    /// connection closes. The client has nothing more to say, so reads only detect its close;
    /// ticks send heartbeats.
    struct StreamingState {
        let session: EventStreamSession
        var lastHeartbeatMs: Int64
        /// When an ended stream whose last bytes are still queued is dropped anyway (the
        /// client stopped reading); `.max` while the stream runs.
        var endDeadlineMs: Int64 = .max
    }

    enum State {
        case http(HTTPState)
        case webSocket(WebSocketState)
        case streaming(StreamingState)
        case lingering(deadlineMs: Int64)
        case closed
        /// Only inside a transition, while the payload is moved out (see `take()`).
        case transitioning
    }

    private let sharedSettings: SharedSettings
    var settings: Settings { sharedSettings.value }
    private(set) var state: State
    /// Mirrors "WebSocket open and no close sent" or "event stream open and not ended", so the
    /// per-delivery `sendFrame` reads one flag instead of matching the state and copying its
    /// payload.
    private(set) var acceptsFrames = false
    /// The exchange is over: HTTP answered with `Connection: close` (or an error), or the
    /// WebSocket close handshake is done or broken. Nothing more is processed; the connection
    /// closes once its output is written. Kept outside the states because both use it and
    /// `outputDrained`, called on every flush, should read a flag, not copy a payload.
    private(set) var closesAfterFlush = false
    /// The earliest time at which `tick` can have something to do (0: not known, tick soon).
    /// Set by `tick` from the deadlines of the state it leaves; every other mutating method
    /// resets it to 0, since any of them may have armed an earlier deadline (a new request,
    /// a close sent, lingering): a method added here must do the same. The owner skips the
    /// ticks before it: walking every idle connection's state four times a second was about
    /// half of an idle server's CPU (perf, 16,700 idle WebSockets).
    private(set) var nextTickDueMs: Int64 = 0

    init(settings: Settings, nowMs: Int64) {
        self.init(sharedSettings: SharedSettings(settings), nowMs: nowMs)
    }

    /// A machine using `sharedSettings`, which its loop's other machines use too.
    init(sharedSettings: SharedSettings, nowMs: Int64) {
        self.sharedSettings = sharedSettings
        let settings = sharedSettings.value
        state = .http(HTTPState(parser: HTTPRequestParser(limits: settings.httpLimits),
                                deadlineMs: nowMs + settings.headerTimeoutMs))
    }

    var phase: Phase {
        switch state {
        case .http: return .http
        case .webSocket: return .webSocket
        case .streaming: return .streaming
        case .lingering: return .lingering
        case .closed, .transitioning: return .closed
        }
    }

    var webSocketStatus: WebSocketStatus? {
        guard case .webSocket(let ws) = state else { return nil }
        return WebSocketStatus(endpoint: ws.endpoint, closeSent: ws.closeSent, deflate: ws.deflate)
    }

    /// What the application chose for the event stream; nil unless streaming.
    var eventStreamSession: EventStreamSession? {
        guard case .streaming(let stream) = state else { return nil }
        return stream.session
    }

    /// A deferred answer is awaited (reading is paused until it comes).
    var isAwaitingAnswer: Bool {
        if case .http(let http) = state { return http.pending != nil }
        return false
    }

    /// Whether the owner should ask for readability now.
    func wantsToRead(queuedOutputBytes: Int) -> Bool {
        switch state {
        case .http(let http):
            return http.pending == nil && !http.peerFinished && queuedOutputBytes < settings.pipelineOutputPause
        case .webSocket, .lingering, .streaming:
            // A stream reads only to notice the client's close (or reset) at once.
            return true
        case .closed, .transitioning:
            return false
        }
    }

    /// Moves the state out, leaving `.transitioning`, so the payload is uniquely referenced.
    private mutating func take() -> State {
        var current = State.transitioning
        swap(&current, &state)   // a move: no retain of the payload's buffers
        return current
    }

    // MARK: - Input

    /// Buffers bytes from the peer. Nothing is parsed until `nextInput`.
    mutating func received(_ bytes: UnsafeRawBufferPointer) {
        nextTickDueMs = 0
        switch take() {
        case .http(let http):
            // After a final answer, what the client still sends is dropped, not buffered.
            if !closesAfterFlush { http.parser.feed(bytes) }
            state = .http(http)
        case .webSocket(var ws):
            if !closesAfterFlush { ws.feed(bytes) }
            state = .webSocket(ws)
        case let other:
            // Lingering: draining what the peer still sends before our close. Streaming:
            // the client has no say after its request; what it sends is dropped.
            state = other
        }
    }

    /// The next thing to do with buffered input, or `.none` when nothing more can be done now
    /// (more bytes needed, an answer awaited, output to drain first, or closing).
    mutating func nextInput(nowMs: Int64, queuedOutputBytes: Int, shuttingDown: Bool) -> Action {
        nextTickDueMs = 0
        switch take() {
        case .http(let http):
            let action = nextHTTP(http, nowMs: nowMs, queuedOutputBytes: queuedOutputBytes, shuttingDown: shuttingDown)
            state = .http(http)
            return action
        case .webSocket(var ws):
            let action = nextWebSocket(&ws, nowMs: nowMs, queuedOutputBytes: queuedOutputBytes)
            if ws.closeSent { acceptsFrames = false }
            state = .webSocket(ws)
            return action
        case let other:
            state = other
            return .none
        }
    }

    private mutating func nextHTTP(_ http: HTTPState, nowMs: Int64, queuedOutputBytes: Int, shuttingDown: Bool) -> Action {
        guard http.pending == nil, !closesAfterFlush, queuedOutputBytes < settings.pipelineOutputPause else { return .none }
        let event: HTTPParserEvent?
        do {
            event = try http.parser.next()
        } catch {
            closesAfterFlush = true
            return .respond(HTTPResponse.error(error).serialize(keepAlive: false), status: error.status.code)
        }
        switch event {
        case nil:
            guard http.peerFinished else { return .none }
            // The client sent all it will send and every complete request is answered.
            if queuedOutputBytes == 0 { return .closeNow }
            closesAfterFlush = true
            return .none
        case .expectContinue?:
            return .send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        case .request(let request)?:
            http.deadlineMs = nowMs + settings.headerTimeoutMs
            http.pending = PendingRequest(keepAlive: request.keepAlive && !shuttingDown,
                                          headOnly: request.method == "HEAD", version: request.version)
            return .handleRequest(request)
        }
    }

    /// The application's answer to the last `.handleRequest`.
    mutating func requestHandled(_ outcome: RequestOutcome, nowMs: Int64) -> Action {
        nextTickDueMs = 0
        let current = take()
        guard case .http(let http) = current, let pending = http.pending else {
            state = current
            return .none
        }
        switch outcome {
        case .deferred:
            state = .http(http)   // stays pending: reading waits for `deferredAnswerReady`
            return .none
        case .respond(let response):
            http.pending = nil
            let action = answer(response, pending, keepAlive: pending.keepAlive)
            state = .http(http)
            return action
        case .upgrade(let response, let session):
            let leftover = http.parser.takeBufferedBytes()
            var ws = WebSocketState(session: session, nowMs: nowMs)
            leftover.withUnsafeBytes { ws.feed($0) }
            state = .webSocket(ws)
            acceptsFrames = true
            return .openWebSocket(response: response.serialize(keepAlive: true), maxOutputBytes: session.maxOutputBytes)
        case .eventStream(let response, let session):
            // Pipelined requests after this one are never answered: the stream has the
            // connection until it closes.
            state = .streaming(StreamingState(session: session, lastHeartbeatMs: nowMs))
            acceptsFrames = true
            return .openEventStream(response: response.serializeCloseDelimitedHead(), maxOutputBytes: session.maxOutputBytes)
        }
    }

    /// The answer of a `.deferred` request; reading resumes with the next `nextInput`.
    mutating func deferredAnswerReady(_ response: HTTPResponse, shuttingDown: Bool) -> Action {
        nextTickDueMs = 0
        let current = take()
        guard case .http(let http) = current, let pending = http.pending else {
            state = current
            return .none
        }
        http.pending = nil
        let action = answer(response, pending, keepAlive: pending.keepAlive && !shuttingDown)
        state = .http(http)
        return action
    }

    /// - Parameter version: the request's, so an HTTP/1.0 keep-alive client is told
    ///   `Connection: keep-alive` (it would assume close otherwise).
    private mutating func answer(_ response: HTTPResponse, _ pending: PendingRequest, keepAlive: Bool) -> Action {
        if !keepAlive { closesAfterFlush = true }
        return .respond(response.serialize(keepAlive: keepAlive, headOnly: pending.headOnly, requestVersion: pending.version),
                        status: response.status.code)
    }

    private mutating func nextWebSocket(_ ws: inout WebSocketState, nowMs: Int64, queuedOutputBytes: Int) -> Action {
        while !closesAfterFlush, let item = ws.nextItem() {
            // Any frame from the client proves it is alive, not only a pong.
            ws.lastInboundMs = nowMs
            ws.pingSentAtMs = nil
            switch item {
            case .text, .binary:
                if ws.closeSent { continue }
                if var bucket = ws.messageBucket {
                    let allowed = bucket.take(nowMs: nowMs) == .allowed
                    ws.messageBucket = bucket
                    if !allowed {
                        // Policy violation: say why, then close once that is written, as for
                        // a protocol violation (the client's answer is not waited for).
                        closesAfterFlush = true
                        return Self.beginClose(&ws, code: CloseCode.policyViolation,
                                               reason: "over \(Int(bucket.ratePerSecond)) messages per second",
                                               nowMs: nowMs, closeTimeoutMs: settings.closeTimeoutMs).map { .closeOverMessageRate($0) } ?? .none
                    }
                }
                return .handleMessage(item)
            case .ping(let payload):
                if ws.closeSent { continue }
                return .send(FrameEncoder.frame(opcode: .pong, payload: payload))
            case .pong:
                continue
            case .close(let code, _):
                closesAfterFlush = true
                if ws.closeSent {
                    // The answer to our close: the handshake is complete.
                    return queuedOutputBytes == 0 ? .halfCloseAndLinger : .none
                }
                ws.closeSent = true
                return .send(code.map { FrameEncoder.closeFrame(code: $0) } ?? FrameEncoder.frame(opcode: .close, payload: []))
            case .violation(let code, let reason):
                closesAfterFlush = true
                if let frame = Self.beginClose(&ws, code: code, reason: reason, nowMs: nowMs, closeTimeoutMs: settings.closeTimeoutMs) {
                    return .send(frame)
                }
                return queuedOutputBytes == 0 ? .halfCloseAndLinger : .none
            }
        }
        return .none
    }

    // MARK: - Other events

    /// The peer closed its sending half (a read returned end of stream).
    mutating func peerClosed(queuedOutputBytes: Int) -> Action {
        nextTickDueMs = 0
        switch take() {
        case .http(let http):
            let hasWork = http.pending != nil || queuedOutputBytes > 0 || (!http.parser.isIdle && !closesAfterFlush)
            if hasWork && !http.peerFinished {
                // Half-closed client (e.g. `printf ... | nc`): still answer what it sent.
                http.peerFinished = true
                state = .http(http)
                return .none
            }
            state = .http(http)
            return .closeNow
        case let other:
            state = other
            return other.isClosed ? .none : .closeNow
        }
    }

    /// Every queued byte has been written.
    func outputDrained() -> Action {
        guard closesAfterFlush else { return .none }
        switch state {
        case .http, .webSocket, .streaming: return .halfCloseAndLinger
        case .lingering, .closed, .transitioning: return .none
        }
    }

    /// Sends a close frame and waits (up to the close timeout) for the client's answer.
    mutating func startClose(code: UInt16, reason: String, nowMs: Int64) -> Action {
        nextTickDueMs = 0
        let current = take()
        guard case .webSocket(var ws) = current else {
            state = current
            return .none
        }
        let frame = Self.beginClose(&ws, code: code, reason: reason, nowMs: nowMs, closeTimeoutMs: settings.closeTimeoutMs)
        state = .webSocket(ws)
        acceptsFrames = false
        return frame.map { .send($0) } ?? .none
    }

    /// Ends an event stream: nothing more is accepted, what is queued is written, then the
    /// connection closes (the body of a close-delimited response ends with the connection).
    /// A client that does not read what is left is dropped after the close timeout.
    mutating func endStream(nowMs: Int64, queuedOutputBytes: Int) -> Action {
        nextTickDueMs = 0
        let current = take()
        guard case .streaming(var stream) = current, !closesAfterFlush else {
            state = current
            return .none
        }
        stream.endDeadlineMs = nowMs + settings.closeTimeoutMs
        state = .streaming(stream)
        acceptsFrames = false
        closesAfterFlush = true
        return queuedOutputBytes == 0 ? .halfCloseAndLinger : .none
    }

    /// The close frame to send, or nil when one was already sent.
    private static func beginClose(_ ws: inout WebSocketState, code: UInt16, reason: String,
                                   nowMs: Int64, closeTimeoutMs: Int64) -> [UInt8]? {
        guard !ws.closeSent else { return nil }
        ws.closeSent = true
        ws.closeDeadlineMs = nowMs + closeTimeoutMs
        return FrameEncoder.closeFrame(code: code, reason: reason)
    }

    /// Deadlines and pings; the owner calls it a few times per second (and may skip the calls
    /// before `nextTickDueMs`).
    mutating func tick(nowMs: Int64) -> Action {
        let action = deadlinesAndPings(nowMs: nowMs)
        nextTickDueMs = nextDeadline()
        return action
    }

    /// When `tick` will next have something to do in the current state, if nothing else
    /// happens meanwhile: the same conditions as in `deadlinesAndPings`, solved for the time.
    private func nextDeadline() -> Int64 {
        switch state {
        case .http(let http):
            guard http.pending == nil, !closesAfterFlush, !http.peerFinished else { return .max }
            return http.deadlineMs
        case .webSocket(let ws):
            if ws.closeSent { return ws.closeDeadlineMs }
            return (ws.pingSentAtMs ?? ws.lastInboundMs) + settings.pingIntervalMs
        case .streaming(let stream):
            if closesAfterFlush { return stream.endDeadlineMs }
            return stream.lastHeartbeatMs + settings.heartbeatIntervalMs
        case .lingering(let deadline):
            return deadline
        case .closed, .transitioning:
            return .max
        }
    }

    private mutating func deadlinesAndPings(nowMs: Int64) -> Action {
        switch take() {
        case .http(let http):
            defer { state = .http(http) }
            guard http.pending == nil, !closesAfterFlush, !http.peerFinished, nowMs >= http.deadlineMs else { return .none }
            // An idle keep-alive connection past its limit just goes; a slow request is told why.
            if http.parser.isIdle { return .closeNow }
            closesAfterFlush = true
            let seconds = settings.headerTimeoutMs / 1000
            let response = HTTPResponse.error(.requestTimeout, code: "request_timeout",
                                              message: "request headers not received within \(seconds) s")
            return .respond(response.serialize(keepAlive: false), status: response.status.code)
        case .webSocket(var ws):
            defer { state = .webSocket(ws) }
            if ws.closeSent { return nowMs >= ws.closeDeadlineMs ? .closeNow : .none }
            let interval = settings.pingIntervalMs
            if let sent = ws.pingSentAtMs {
                // The client has not answered the previous ping (nor sent anything) in an interval.
                guard nowMs - sent >= interval else { return .none }
                acceptsFrames = false
                return Self.beginClose(&ws, code: CloseCode.goingAway, reason: "ping timeout",
                                       nowMs: nowMs, closeTimeoutMs: settings.closeTimeoutMs).map { .send($0) } ?? .none
            }
            guard nowMs - ws.lastInboundMs >= interval else { return .none }
            ws.pingSentAtMs = nowMs
            return .send(Self.ping)
        case .streaming(var stream):
            defer { state = .streaming(stream) }
            if closesAfterFlush { return nowMs >= stream.endDeadlineMs ? .closeNow : .none }
            guard nowMs - stream.lastHeartbeatMs >= settings.heartbeatIntervalMs else { return .none }
            stream.lastHeartbeatMs = nowMs
            return .send(Self.heartbeat)
        case .lingering(let deadline):
            state = .lingering(deadlineMs: deadline)
            return nowMs >= deadline ? .closeNow : .none
        case let other:
            state = other
            return .none
        }
    }

    /// The ping an idle WebSocket gets every `pingIntervalMs` (made once, not per ping).
    static let ping = FrameEncoder.frame(opcode: .ping, payload: [])

    /// The comment line an idle event stream gets every `heartbeatIntervalMs`.
    static let heartbeat = ServerSentEvents.comment("keepalive")

    // MARK: - Reports from the owner

    /// The owner half-closed after `.halfCloseAndLinger`.
    mutating func startedLingering(nowMs: Int64) {
        nextTickDueMs = 0
        guard !state.isClosed else { return }
        state = .lingering(deadlineMs: nowMs + settings.lingerMs)
        acceptsFrames = false
    }

    /// The owner closed the connection.
    mutating func closed() {
        nextTickDueMs = 0
        state = .closed
        acceptsFrames = false
    }
}

extension ConnectionStateMachine.State {
    var isClosed: Bool {
        switch self {
        case .closed, .transitioning: return true
        default: return false
        }
    }
}
