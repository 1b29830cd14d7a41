import HTTP1
import Reactor
import WebSocket

/// What the application decided for one HTTP request.
enum RequestOutcome {
    case respond(HTTPResponse)
    /// Switch to WebSocket: the 101 answer, then frames on the same connection.
    case upgrade(HTTPResponse, WebSocketSession)
    /// The answer comes later through `Connection.completeDeferred` (e.g. after a durable
    /// commit); the connection reads nothing more until then, so pipelined answers keep order.
    case deferred
}

/// One accepted TCP connection: its byte stream, its protocol phase (HTTP/1.1, then possibly
/// WebSocket), its output queue and its deadline. Owned by exactly one `ServerLoop`.
///
/// I/O rules: reads go through the loop's shared read buffer, so an idle connection holds
/// no input buffer; output is queued and written once per loop turn (`flush`), with
/// EPOLLOUT only while the kernel buffer is full.
final class Connection: EventHandler {
    enum Phase { case http, webSocket, lingering, closed }

    let fd: Int32
    let serial: UInt64
    private let stream: ByteStream
    /// unowned(unsafe): the loop owns every connection and outlives them all, and the
    /// checked variant's reference counting showed up per delivery in the profile.
    private unowned(unsafe) let loop: ServerLoop
    // The hot per-delivery state skips the runtime's dynamic exclusivity checks: it is only
    // ever touched by the loop's thread, and the checks were ~40% of user-space instructions
    // per fan-out delivery in callgrind (docs/BENCHMARKS.md).
    @exclusivity(unchecked) private(set) var phase: Phase = .http
    private var httpParser: HTTPRequestParser?
    @exclusivity(unchecked) var webSocket: WebSocketSession?
    /// Mirrors "WebSocket open and no close sent", so `sendFrame` does not have to copy the
    /// session out of its optional for every delivery.
    @exclusivity(unchecked) private var acceptsFrames = false

    @exclusivity(unchecked) private var output = OutputQueue()
    private var outputCap: Int
    /// Header deadline (HTTP), close-handshake deadline (WebSocket after we sent close),
    /// or the lingering-close limit.
    private var deadlineMs: Int64
    @exclusivity(unchecked) var isQueuedForFlush = false
    /// Set while the application feeds this connection at its pace (a replay): tell it when
    /// the queue has drained.
    var notifiesWhenDrained = false
    private var wantsWritable = false
    /// A TLS read that must first write (handshake, key update) waits for EPOLLOUT.
    private var readWaitsForWritable = false
    private var awaitingDeferred: (keepAlive: Bool, headOnly: Bool, version: HTTPVersion)?
    private var closeWhenFlushed = false
    private var registeredInterest: Epoll.Interest = .readable
    /// Pipelined requests stop being processed while this much output waits, so a client
    /// that sends without reading cannot make us queue without bound.
    private static let pipelineOutputPause = 256 * 1024

    init(fd: Int32, stream: ByteStream, serial: UInt64, loop: ServerLoop, nowMs: Int64) {
        self.fd = fd
        self.stream = stream
        self.serial = serial
        self.loop = loop
        self.httpParser = HTTPRequestParser(limits: loop.httpLimits)
        self.outputCap = loop.config.maxOutputBytes
        self.deadlineMs = nowMs + Int64(loop.config.headerTimeoutSeconds) * 1000
    }

    var queuedOutputBytes: Int { output.byteCount }
    /// The queue cap past which the connection is closed as a slow consumer.
    var outputCapacity: Int { outputCap }
    var isOpen: Bool { phase != .closed }

    // MARK: - Readiness

    func handle(_ readiness: Epoll.Readiness) {
        if readiness.isWritable && wantsWritable { flush() }
        if (readiness.isReadable || (readiness.isWritable && readWaitsForWritable)) && phase != .closed { readAvailable() }
    }

    private func readAvailable() {
        if readWaitsForWritable {
            readWaitsForWritable = false
            updateInterest()
        }
        repeat {
            let buffer = loop.readBuffer
            switch stream.read(into: buffer) {
            case .bytes(let n):
                consume(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .closed:
                peerClosed()
                return
            case .wouldBlockRead:
                return
            case .wouldBlockWrite:
                readWaitsForWritable = true
                updateInterest()
                return
            case .failed:
                closeNow()
                return
            }
        } while phase != .closed && stream.hasPendingInput
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .http:
            httpParser!.feed(bytes)
            processHTTP()
        case .webSocket:
            webSocket!.reader.feed(bytes)
            processWebSocket()
        case .lingering, .closed:
            break   // draining what the peer still sends before our close
        }
    }

    private func peerClosed() {
        if phase == .http, awaitingDeferred == nil, !output.isEmpty, !closeWhenFlushed {
            // Half-closed client (e.g. `printf ... | nc`): still deliver what it asked for.
            closeWhenFlushed = true
            return
        }
        closeNow()
    }

    // MARK: - HTTP

    private func processHTTP() {
        while phase == .http, awaitingDeferred == nil, !closeWhenFlushed, output.byteCount < Self.pipelineOutputPause {
            let event: HTTPParserEvent?
            do {
                event = try httpParser!.next()
            } catch {
                loop.metrics.countRequest(status: error.status.code)
                send(HTTPResponse.error(error).serialize(keepAlive: false))
                closeWhenFlushed = true
                break
            }
            guard let event else { break }
            switch event {
            case .expectContinue:
                send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            case .request(let request):
                deadlineMs = MonotonicClock.nowMilliseconds() + Int64(loop.config.headerTimeoutSeconds) * 1000
                let keepAlive = request.keepAlive && !loop.isShuttingDown
                let headOnly = request.method == "HEAD"
                switch loop.handleRequest(request, on: self) {
                case .respond(let response):
                    respond(response, keepAlive: keepAlive, headOnly: headOnly, version: request.version)
                case .deferred:
                    awaitingDeferred = (keepAlive, headOnly, request.version)
                    updateInterest()
                case .upgrade(let response, let session):
                    loop.metrics.countRequest(status: response.status.code)
                    send(response.serialize(keepAlive: true))
                    let leftover = httpParser!.takeBufferedBytes()
                    httpParser = nil
                    webSocket = session
                    outputCap = session.maxOutputBytes
                    phase = .webSocket
                    acceptsFrames = true
                    loop.webSocketOpened(self)
                    if !leftover.isEmpty {
                        leftover.withUnsafeBytes { webSocket!.reader.feed($0) }
                        processWebSocket()
                    }
                }
            }
        }
        updateInterest()
    }

    /// - Parameter version: the request's, so an HTTP/1.0 keep-alive client is told
    ///   `Connection: keep-alive` (it would assume close otherwise).
    private func respond(_ response: HTTPResponse, keepAlive: Bool, headOnly: Bool, version: HTTPVersion = .http11) {
        loop.metrics.countRequest(status: response.status.code)
        send(response.serialize(keepAlive: keepAlive, headOnly: headOnly, requestVersion: version))
        if !keepAlive { closeWhenFlushed = true }
    }

    /// Delivers the answer of a `.deferred` request and resumes reading.
    func completeDeferred(_ response: HTTPResponse) {
        guard phase == .http, let pending = awaitingDeferred else { return }
        awaitingDeferred = nil
        respond(response, keepAlive: pending.keepAlive && !loop.isShuttingDown, headOnly: pending.headOnly,
                version: pending.version)
        processHTTP()
    }

    var isAwaitingDeferred: Bool { awaitingDeferred != nil }

    // MARK: - WebSocket

    private func processWebSocket() {
        while phase == .webSocket, let item = webSocket!.reader.next() {
            webSocket!.noteInbound(nowMs: MonotonicClock.nowMilliseconds())
            switch item {
            case .text, .binary:
                if !webSocket!.closeSent { loop.handleMessage(item, on: self) }
            case .ping(let payload):
                if !webSocket!.closeSent { send(FrameEncoder.frame(opcode: .pong, payload: payload)) }
            case .pong:
                break
            case .close(let code, _):
                if webSocket!.closeSent {
                    // The answer to our close: the handshake is complete.
                    closeWhenFlushed = true
                } else {
                    webSocket!.closeSent = true
                    acceptsFrames = false
                    send(code.map { FrameEncoder.closeFrame(code: $0) } ?? FrameEncoder.frame(opcode: .close, payload: []))
                    closeWhenFlushed = true
                }
                loop.scheduleFlush(self)
                return
            case .violation(let code, let reason):
                startClose(code: code, reason: reason)
                closeWhenFlushed = true
                return
            }
        }
    }

    /// Sends a close frame and waits (up to the close timeout) for the client's answer.
    func startClose(code: UInt16, reason: String = "") {
        guard phase == .webSocket, webSocket?.closeSent == false else { return }
        webSocket!.closeSent = true
        acceptsFrames = false
        send(FrameEncoder.closeFrame(code: code, reason: reason))
        deadlineMs = MonotonicClock.nowMilliseconds() + Int64(loop.config.closeTimeoutSeconds) * 1000
    }

    /// Queues one server frame (or several, already concatenated) to a WebSocket client.
    /// A client whose queue would pass its cap is a slow consumer: what it has not started
    /// receiving is dropped and it is closed with 1013, so it resumes with `since` and
    /// loses nothing.
    func sendFrame(_ frame: [UInt8]) {
        guard acceptsFrames else { return }
        if output.byteCount + frame.count > outputCap {
            loop.metrics.slowConsumersClosed.add(1, ordering: .relaxed)
            output.discardUnstarted()
            startClose(code: CloseCode.tryAgainLater, reason: "slow consumer: resume with since")
            return
        }
        send(frame)
    }

    // MARK: - Output

    private func send(_ bytes: [UInt8]) {
        output.append(bytes)
        // Checked here first: reaching the loop costs a retain/release of it, and during a
        // burst most deliveries find the connection already queued for this turn.
        if !isQueuedForFlush { loop.scheduleFlush(self) }
    }

    /// Writes what is queued; called once per loop turn for connections with new output,
    /// and on EPOLLOUT.
    func flush() {
        isQueuedForFlush = false
        guard phase != .closed else { return }
        while !output.isEmpty {
            var outcome = StreamIO.bytes(0)
            _ = output.drain { slices in
                outcome = stream.write(slices)
                if case .bytes(let n) = outcome { return n }
                return nil
            }
            switch outcome {
            case .bytes(let n) where n > 0:
                continue
            case .bytes, .wouldBlockWrite, .wouldBlockRead:
                if !wantsWritable { wantsWritable = true; updateInterest() }
                return
            case .closed, .failed:
                closeNow()
                return
            }
        }
        if wantsWritable { wantsWritable = false; updateInterest() }
        if notifiesWhenDrained && phase == .webSocket {
            loop.services?.outputDrained(self)
            if !output.isEmpty { loop.scheduleFlush(self) }
        }
        if closeWhenFlushed {
            beginLingeringClose()
        } else if phase == .http {
            processHTTP()   // resumes pipelined requests paused on output
        }
    }

    /// Half-close, then read until the peer closes (or a short limit), so bytes still in flight
    /// from the client cannot turn our close into a reset that destroys the last answer.
    private func beginLingeringClose() {
        guard phase == .http || phase == .webSocket else { return }
        if phase == .webSocket { loop.webSocketClosed(self) }
        phase = .lingering
        acceptsFrames = false
        httpParser = nil
        webSocket = nil
        Socket.shutdownWrite(fd)
        deadlineMs = MonotonicClock.nowMilliseconds() + 2000
        updateInterest()
    }

    private func updateInterest() {
        guard phase != .closed else { return }
        var interest: Epoll.Interest = []
        let readPaused = phase == .http && (awaitingDeferred != nil || output.byteCount >= Self.pipelineOutputPause)
        if !readPaused { interest.insert(.readable) }
        if wantsWritable || readWaitsForWritable { interest.insert(.writable) }
        if interest != registeredInterest {
            registeredInterest = interest
            loop.eventLoop.update(fd, interest: interest)
        }
    }

    // MARK: - Time

    /// Deadlines and pings; called from the loop's tick.
    func tick(nowMs: Int64) {
        switch phase {
        case .http:
            guard awaitingDeferred == nil, nowMs >= deadlineMs, !closeWhenFlushed else { return }
            if httpParser?.isIdle ?? true {
                closeNow()   // an idle keep-alive connection past its limit
            } else {
                respond(.error(.requestTimeout, code: "request_timeout",
                               message: "request headers not received within \(loop.config.headerTimeoutSeconds) s"),
                        keepAlive: false, headOnly: false)
            }
        case .webSocket:
            guard let session = webSocket else { return }
            if session.closeSent {
                if nowMs >= deadlineMs { closeNow() }
                return
            }
            switch session.pingAction(nowMs: nowMs, intervalMs: Int64(loop.config.pingIntervalSeconds) * 1000) {
            case .none: break
            case .sendPing:
                webSocket!.pingSent(nowMs: nowMs)
                send(FrameEncoder.frame(opcode: .ping, payload: []))
            case .timedOut:
                startClose(code: CloseCode.goingAway, reason: "ping timeout")
            }
        case .lingering:
            if nowMs >= deadlineMs { closeNow() }
        case .closed:
            break
        }
    }

    /// Closes the socket at once, whatever is queued.
    func closeNow() {
        guard phase != .closed else { return }
        if phase == .webSocket { loop.webSocketClosed(self) }
        phase = .closed
        acceptsFrames = false
        httpParser = nil
        webSocket = nil
        output = OutputQueue()
        loop.connectionClosed(self)
        stream.close()
    }
}
