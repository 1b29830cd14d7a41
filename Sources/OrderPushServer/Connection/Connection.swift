import HTTP1
import Reactor
import WebSocket

/// One accepted TCP connection: its byte stream, its output queue and its epoll interest.
/// What the bytes mean (HTTP/1.1, then possibly WebSocket or an event stream, deadlines,
/// the close) is decided
/// by its `ConnectionStateMachine`; this class carries out the machine's actions. Owned by
/// exactly one `ServerLoop`.
///
/// I/O rules: reads go through the loop's shared read buffer, so an idle connection holds
/// no input buffer; output is queued and written once per loop turn (`flush`), with
/// EPOLLOUT only while the kernel buffer is full.
final class Connection: EventHandler {
    // Stored properties are laid out in declaration order, so the small ones are grouped
    // (an idle connection's size is what 10k connections multiply: docs/BENCHMARKS.md).
    let fd: Int32
    private var registeredInterest: Epoll.Interest = .readable
    let serial: UInt64
    /// The TLS session of a `wss`/`https` connection; nil for a plain socket, which is read
    /// and written on `fd` directly (`SocketStream`'s static functions): a stream object
    /// and a protocol existential would cost a plain connection 40 bytes (docs/BENCHMARKS.md).
    private let tls: TLSStream?
    /// unowned(unsafe): the loop owns every connection and outlives them all, and the
    /// checked variant's reference counting showed up per delivery in the profile.
    private unowned(unsafe) let loop: ServerLoop
    // The hot per-delivery state skips the runtime's dynamic exclusivity checks: it is only
    // ever touched by the loop's thread, and the checks were ~40% of user-space instructions
    // per fan-out delivery in callgrind (docs/BENCHMARKS.md).
    @exclusivity(unchecked) private var machine: ConnectionStateMachine
    @exclusivity(unchecked) private var output = OutputQueue()
    /// The queue cap past which a WebSocket or event-stream client is closed as a slow consumer.
    @exclusivity(unchecked) private var outputCap: Int
    /// The queue size last added to the loop's total (`ServerLoop.queuedOutputBytes`):
    /// accounted once per flush, not per frame, so delivery stays free of the bookkeeping.
    @exclusivity(unchecked) private var accountedOutputBytes = 0
    /// Bytes the kernel has taken from this connection's queue, that figure at the previous
    /// tick, and how many ticks in a row output waited and none of it was written.
    /// Only compared for a change, so they wrap at 32 bits (they would miss progress only if
    /// exactly a multiple of 4 GiB were written within one tick): 8 bytes less per connection.
    @exclusivity(unchecked) private var writtenBytes: UInt32 = 0
    private var writtenBytesAtLastTick: UInt32 = 0
    private var ticksWithoutProgress: UInt8 = 0
    /// The window this client lets us compress with (permessage-deflate), 0 when it did not
    /// negotiate compression. A plain field rather than the machine's state, as fan-out reads
    /// it; one byte (windows are 8-15 bits), as every idle connection carries it.
    @exclusivity(unchecked) private var deflateWindow: UInt8 = 0
    var deflateWindowBits: Int { Int(deflateWindow) }
    /// Output has waited, none of it taken by the client, for about a second (4 ticks): a
    /// client that reads, even slowly or after a short pause, is not stalled.
    var isStalled: Bool { ticksWithoutProgress >= 4 }
    /// Set while the application feeds this connection at its pace (a replay): tell it when
    /// the queue has drained.
    var notifiesWhenDrained = false
    /// Set once, when the connection becomes an event stream: push messages go out as
    /// Server-Sent Events instead of WebSocket frames. A stored flag, because fan-out reads
    /// it per delivery.
    /// Read per delivery (which framing to send): unchecked exclusivity, loop-thread only.
    @exclusivity(unchecked) private(set) var isEventStream = false
    /// Neither an event stream nor compressing: fan-out queues it the plain WebSocket frame.
    /// One flag for the one question fan-out asks per delivery.
    @exclusivity(unchecked) private(set) var takesPlainFrames = true
    private var wantsWritable = false
    /// A TLS read that must first write (handshake, key update) waits for EPOLLOUT.
    private var readWaitsForWritable = false
    @exclusivity(unchecked) var isQueuedForFlush = false

    init(fd: Int32, tls: TLSStream?, serial: UInt64, loop: ServerLoop, nowMs: Int64) {
        self.fd = fd
        self.tls = tls
        self.serial = serial
        self.loop = loop
        machine = ConnectionStateMachine(sharedSettings: loop.connectionSettings, nowMs: nowMs)
        outputCap = loop.config.maxOutputBytes
    }

    var queuedOutputBytes: Int { output.byteCount }
    /// The queue cap past which the connection is closed as a slow consumer.
    var outputCapacity: Int { outputCap }
    var phase: ConnectionStateMachine.Phase { machine.phase }
    /// A WebSocket that still takes frames (open, no close sent).
    var acceptsFrames: Bool { machine.acceptsFrames }
    var isOpen: Bool { machine.phase != .closed }
    var isAwaitingDeferred: Bool { machine.isAwaitingAnswer }
    /// The WebSocket's endpoint and close state; nil before the upgrade and after the close.
    var webSocket: WebSocketStatus? { machine.webSocketStatus }
    /// The event stream's session; nil unless the connection is an open event stream.
    var eventStream: EventStreamSession? { machine.eventStreamSession }
    /// Whether push messages are still taken (`sendFrame`): a WebSocket before its close
    /// frame, an event stream before its end.
    var acceptsPushMessages: Bool { machine.acceptsFrames }

    // MARK: - Readiness

    func handle(_ readiness: Epoll.Readiness) {
        if readiness.isWritable && wantsWritable { flush() }
        if (readiness.isReadable || (readiness.isWritable && readWaitsForWritable)) && isOpen { readAvailable() }
    }

    private func readAvailable() {
        if readWaitsForWritable {
            readWaitsForWritable = false
            updateInterest()
        }
        repeat {
            let buffer = loop.readBuffer
            switch streamRead(into: buffer) {
            case .bytes(let n):
                machine.received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                processInput()
            case .closed:
                perform(machine.peerClosed(queuedOutputBytes: output.byteCount))
                processInput()   // a half-closed client's requests already buffered
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
        } while isOpen && (tls?.hasPendingInput ?? false)
    }

    private func streamRead(into buffer: UnsafeMutableRawBufferPointer) -> StreamIO {
        if let tls { return tls.read(into: buffer) }
        return SocketStream.read(fd: fd, into: buffer)
    }

    private func streamWrite(_ chunks: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> StreamIO {
        if let tls { return tls.write(chunks) }
        return SocketStream.write(fd: fd, chunks)
    }

    /// Acts on buffered input until the machine needs more bytes, an answer, or a drain.
    private func processInput() {
        guard isOpen else { return }
        let nowMs = MonotonicClock.nowMilliseconds()
        while true {
            let action = machine.nextInput(nowMs: nowMs, queuedOutputBytes: output.byteCount,
                                           shuttingDown: loop.isShuttingDown)
            if case .none = action { break }
            perform(action)
        }
        updateInterest()
    }

    private func perform(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .send(let bytes):
            send(bytes)
        case .closeOverMessageRate(let bytes):
            loop.logLimitHit("message rate", "a WebSocket client sent more than --ws-message-rate allows; closed with 1008")
            send(bytes)
        case .respond(let bytes, let status):
            loop.metrics.countRequest(status: status)
            send(bytes)
        case .handleRequest(let request):
            let outcome = loop.handleRequest(request, on: self)
            perform(machine.requestHandled(outcome, nowMs: MonotonicClock.nowMilliseconds()))
        case .openWebSocket(let response, let maxOutputBytes):
            loop.metrics.countRequest(status: 101)
            send(response)
            outputCap = maxOutputBytes
            deflateWindow = UInt8(clamping: machine.webSocketStatus?.deflate?.serverWindowBits ?? 0)
            takesPlainFrames = deflateWindow == 0
            loop.webSocketOpened(self)
        case .openEventStream(let response, let maxOutputBytes):
            loop.metrics.countRequest(status: 200)
            send(response)
            outputCap = maxOutputBytes
            isEventStream = true
            takesPlainFrames = false
            loop.eventStreamOpened(self)
        case .handleMessage(let message):
            loop.handleMessage(message, on: self)
        case .closeNow:
            closeNow()
        case .halfCloseAndLinger:
            beginLingeringClose()
        }
    }

    // MARK: - Application surface

    /// Delivers the answer of a `.deferred` request and resumes reading.
    func completeDeferred(_ response: HTTPResponse) {
        perform(machine.deferredAnswerReady(response, shuttingDown: loop.isShuttingDown))
        processInput()
    }

    /// Sends a close frame and waits (up to the close timeout) for the client's answer.
    func startClose(code: UInt16, reason: String = "") {
        perform(machine.startClose(code: code, reason: reason, nowMs: MonotonicClock.nowMilliseconds()))
    }

    /// Ends an event stream once what is queued is written (the client reconnects with
    /// `Last-Event-ID`).
    func endEventStream() {
        perform(machine.endStream(nowMs: MonotonicClock.nowMilliseconds(), queuedOutputBytes: output.byteCount))
    }

    /// Queues one server frame (or several, already concatenated) to a WebSocket client, or
    /// one event (or several) to an event stream. A client whose queue would pass its cap is
    /// a slow consumer: what it has not started receiving is dropped and it is closed (a
    /// WebSocket with 1013; a stream ends after the event in progress), so it resumes with
    /// `since` or `Last-Event-ID` and loses nothing.
    func sendFrame(_ frame: [UInt8]) {
        guard machine.acceptsFrames else { return }
        if output.byteCount + frame.count > outputCap {
            closeAsSlowConsumer()
            return
        }
        send(frame)
    }

    /// Apart from `sendFrame`, which runs once per delivery: kept out of line, so the
    /// delivery loop's code stays small.
    @inline(never)
    private func closeAsSlowConsumer() {
        loop.metrics.slowConsumersClosed.add(1, ordering: .relaxed)
        loop.logLimitHit("slow consumer", "a WebSocket passed --max-output-bytes (\(outputCap)); closed with 1013")
        output.discardUnstarted()
        if isEventStream {
            endEventStream()
        } else {
            startClose(code: CloseCode.tryAgainLater, reason: "slow consumer: resume with since")
        }
    }

    /// Queues one whole message, compressed with the loop's shared compressor when this
    /// client negotiated permessage-deflate (and compressing pays), else as a plain frame.
    func sendMessage(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        if deflateWindowBits != 0,
           let frame = loop.messageCompressor.compressedFrame(opcode: opcode, payload: payload, windowBits: deflateWindowBits) {
            sendFrame(frame)
        } else {
            sendFrame(FrameEncoder.frame(opcode: opcode, payload: payload))
        }
    }

    /// Closes a WebSocket with 1013 (ends an event stream) because the process's queued output is over its budget
    /// and this connection holds among the most: drops what the client has not started
    /// receiving, as for a slow consumer (it resumes with `since`). Returns the bytes dropped.
    func closeForOutputBudget() -> Int {
        guard machine.acceptsFrames else { return 0 }
        let before = output.byteCount
        output.discardUnstarted()
        loop.metrics.outputBudgetClosed.add(1, ordering: .relaxed)
        if isEventStream {
            endEventStream()
        } else {
            startClose(code: CloseCode.tryAgainLater, reason: "server output budget: resume with since")
        }
        return max(0, before - output.byteCount)
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
        guard isOpen else { return }
        defer { accountOutput() }
        while !output.isEmpty {
            var outcome = StreamIO.bytes(0)
            // The loop's read buffer is free here: a read's bytes are copied out (into the
            // parser or reader) before anything else runs.
            _ = output.drain(scratch: loop.readBuffer) { slices in
                outcome = streamWrite(slices)
                if case .bytes(let n) = outcome { return n }
                return nil
            }
            switch outcome {
            case .bytes(let n) where n > 0:
                writtenBytes &+= UInt32(truncatingIfNeeded: n)
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
        if notifiesWhenDrained && (machine.phase == .webSocket || machine.phase == .streaming) {
            loop.services?.outputDrained(self)
            if !output.isEmpty { loop.scheduleFlush(self) }
        }
        perform(machine.outputDrained())
        if machine.phase == .http { processInput() }   // resumes pipelined requests paused on output
    }

    /// Brings the loop's total up to date with this queue (a closed one counts 0).
    private func accountOutput() {
        let delta = output.byteCount - accountedOutputBytes
        if delta != 0 {
            loop.queuedOutputBytes += delta
            accountedOutputBytes = output.byteCount
        }
    }

    /// Half-close, then read until the peer closes (or a short limit), so bytes still in flight
    /// from the client cannot turn our close into a reset that destroys the last answer.
    private func beginLingeringClose() {
        let phase = machine.phase
        guard phase == .http || phase == .webSocket || phase == .streaming else { return }
        // Told before the state changes: the application still reads the endpoint.
        if phase == .webSocket { loop.webSocketClosed(self) }
        if phase == .streaming { loop.eventStreamClosed(self) }
        machine.startedLingering(nowMs: MonotonicClock.nowMilliseconds())
        Socket.shutdownWrite(fd)
        updateInterest()
    }

    private func updateInterest() {
        guard isOpen else { return }
        var interest: Epoll.Interest = []
        if machine.wantsToRead(queuedOutputBytes: output.byteCount) { interest.insert(.readable) }
        if wantsWritable || readWaitsForWritable { interest.insert(.writable) }
        if interest != registeredInterest {
            registeredInterest = interest
            loop.eventLoop.update(fd, interest: interest)
        }
    }

    // MARK: - Time

    /// Deadlines and pings; called from the loop's tick.
    func tick(nowMs: Int64) {
        if !output.isEmpty && writtenBytes == writtenBytesAtLastTick {
            if ticksWithoutProgress < .max { ticksWithoutProgress += 1 }
        } else {
            ticksWithoutProgress = 0
        }
        writtenBytesAtLastTick = writtenBytes
        // Nothing is due: an idle connection costs the tick these few reads and stores.
        guard nowMs >= machine.nextTickDueMs else { return }
        perform(machine.tick(nowMs: nowMs))
    }

    /// Closes the socket at once, whatever is queued.
    func closeNow() {
        let phase = machine.phase
        guard phase != .closed else { return }
        if phase == .webSocket { loop.webSocketClosed(self) }
        if phase == .streaming { loop.eventStreamClosed(self) }
        machine.closed()
        output = OutputQueue()
        accountOutput()
        loop.connectionClosed(self)
        if let tls { tls.close() } else { Socket.close(fd) }
    }
}
