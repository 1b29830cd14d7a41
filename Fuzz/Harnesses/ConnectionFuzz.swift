import HTTP1
import WebSocket

// Target `connection`: ConnectionStateMachine (Sources/OrderPushServer/Connection) driven the
// way `Connection` drives it, from HTTP through the upgrade and frames to the close, with the
// client's bytes cut at arbitrary places and the other events (tick, output drained, peer
// closed, deferred answer, an application close, application frames) interleaved in an
// arbitrary order.
//
// Input: [n] [n script bytes] [client bytes]. Each script byte is one event: the low 3 bits
// pick it, the high 5 bits are its argument. Once the script is done, the rest of the client
// bytes are fed in pieces cut by a hash of the input, then the output drains and time runs
// out, so every run ends closed. An input too short for its script is all script.
//
// The application behind it is a stand-in decided by the request: a path starting `/ws`
// upgrades (RFC 6455 checks of `WebSocketUpgrade`), `/ws/rate` with a message rate of 2/s
// (burst 4); `/defer` answers later (script event 5); everything else gets 200. Messages are
// echoed through the output cap check that `Connection.sendFrame` makes (a small cap, so
// the 1013 slow-consumer close is reachable).
//
// Invariants, checked after every event:
// - no crash, no sanitizer report;
// - once closed, every event returns `.none`, `acceptsFrames` is false, nothing is read;
// - bytes to send (.send/.respond/.openWebSocket) only in the HTTP or WebSocket phase, never
//   while lingering or closed; .respond and .openWebSocket only in HTTP, .handleMessage only
//   in WebSocket and never after the server's close frame;
// - one .handleRequest at a time: none while the previous one is unanswered (deferred);
// - every HTTP answer starts with a valid status line; a server frame is unmasked and well
//   formed, its close code (if any) valid on the wire; at most one close frame, and no frame
//   of any kind after it;
// - `acceptsFrames` is true exactly while the WebSocket is open and no close was sent;
// - a `Connection: close` answer or an error is followed by no other answer;
// - a tick before `nextTickDueMs` would do nothing (so `Connection` may skip it), and after a
//   tick that did nothing the due time is in the future.

private let outputCap = 512
private let rateSettings = MessageRateLimit(perSecond: 2, burst: 4)

private final class Driver {
    var machine: ConnectionStateMachine
    var nowMs: Int64 = 1_000_000
    /// What the simulated kernel has not taken yet.
    var queued = 0
    var awaitingDeferred = false
    var closeFrameSent = false
    var finalAnswerSent = false
    var requestsHandled = 0
    var answers = 0

    init() {
        let settings = ConnectionStateMachine.Settings(
            httpLimits: HTTPParserLimits(maxHeaderBytes: 512, maxBodyBytes: 128),
            headerTimeoutMs: 10_000, closeTimeoutMs: 5_000, pingIntervalMs: 30_000)
        machine = ConnectionStateMachine(settings: settings, nowMs: nowMs)
    }

    var isClosed: Bool { machine.phase == .closed }

    func checkFlags() {
        let open: Bool
        if case .webSocket = machine.phase, let ws = machine.webSocketStatus { open = !ws.closeSent } else { open = false }
        require(machine.acceptsFrames == open, "acceptsFrames \(machine.acceptsFrames) in \(machine.phase), close sent \(machine.webSocketStatus?.closeSent as Any)")
    }

    /// Carries out one action as `Connection.perform` does.
    func perform(_ action: ConnectionStateMachine.Action) {
        let phase = machine.phase
        if phase == .closed {
            if case .none = action {} else { require(false, "action \(action) after the close") }
            return
        }
        switch action {
        case .none:
            break
        case .send(let bytes):
            require(phase == .http || phase == .webSocket, "bytes to send while \(phase)")
            if phase == .webSocket { checkServerFrames(bytes) } else {
                require(bytes.starts(with: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)), "HTTP .send that is not 100 Continue")
            }
            queued += bytes.count
        case .closeOverMessageRate(let bytes):
            require(phase == .webSocket, "a message-rate close while \(phase)")
            checkServerFrames(bytes)
            require(bytes.count >= 4 && (UInt16(bytes[2]) << 8 | UInt16(bytes[3])) == 1008, "a message-rate close that is not 1008")
            queued += bytes.count
        case .respond(let bytes, let status):
            require(phase == .http, ".respond while \(phase)")
            require(!finalAnswerSent, "an answer after the final one")
            require((100...599).contains(status), "status \(status)")
            require(bytes.starts(with: Array("HTTP/1.".utf8)), "answer without a status line")
            let line = Array("HTTP/1.1 \(status) ".utf8)
            require(bytes.count > 9 && Array(bytes[9..<min(bytes.count, line.count)]) == Array(line[9...]),
                    "status line does not carry \(status)")
            answers += 1
            queued += bytes.count
            if machine.closesAfterFlush { finalAnswerSent = true }
        case .handleRequest(let request):
            require(phase == .http, ".handleRequest while \(phase)")
            require(!awaitingDeferred, "a second request while one is deferred")
            require(!finalAnswerSent, "a request after the final answer")
            requestsHandled += 1
            perform(machine.requestHandled(outcome(for: request), nowMs: nowMs))
            checkFlags()
        case .openWebSocket(let response, let maxOutputBytes):
            require(machine.phase == .webSocket, ".openWebSocket but the machine is \(machine.phase)")
            require(response.starts(with: Array("HTTP/1.1 101 ".utf8)), "upgrade answer is not a 101")
            require(maxOutputBytes == outputCap, "output cap \(maxOutputBytes)")
            queued += response.count
        case .openEventStream:
            require(false, ".openEventStream, but no request here is answered with a stream")
        case .handleMessage(let message):
            require(phase == .webSocket, ".handleMessage while \(phase)")
            require(machine.webSocketStatus?.closeSent == false, "a message handed out after our close frame")
            switch message {
            case .text(let payload): sendFrame(FrameEncoder.frame(opcode: .text, payload: payload))
            case .binary(let payload): sendFrame(FrameEncoder.frame(opcode: .binary, payload: payload))
            default: require(false, ".handleMessage with \(message)")
            }
        case .closeNow:
            machine.closed()
            queued = 0
        case .halfCloseAndLinger:
            require(phase == .http || phase == .webSocket, ".halfCloseAndLinger while \(phase)")
            require(queued == 0, ".halfCloseAndLinger with \(queued) bytes unwritten")
            machine.startedLingering(nowMs: nowMs)
        }
        if isClosed { require(!machine.acceptsFrames, "acceptsFrames after the close") }
    }

    private func outcome(for request: HTTPRequest) -> RequestOutcome {
        if request.path.hasPrefix("/ws") {
            // Deflate is negotiated when the request offers it, so compressed frames are
            // fuzzed through the machine as well.
            switch WebSocketUpgrade.validate(request, negotiateDeflate: true) {
            case .success(let accepted):
                let rate = request.path.hasPrefix("/ws/rate") ? rateSettings : nil
                return .upgrade(accepted.response, WebSocketSession(endpoint: .echo, maxMessageBytes: 64,
                                                                    maxOutputBytes: outputCap, messageRate: rate,
                                                                    deflate: accepted.deflate))
            case .failure(let error):
                return .respond(error.response)
            }
        }
        if request.path.hasPrefix("/defer") {
            awaitingDeferred = true
            return .deferred
        }
        return .respond(HTTPResponse(status: .ok, body: Array(request.path.utf8)))
    }

    /// `Connection.sendFrame`: the slow-consumer check, then the frame.
    func sendFrame(_ frame: [UInt8]) {
        guard machine.acceptsFrames else { return }
        if queued + frame.count > outputCap {
            perform(machine.startClose(code: CloseCode.tryAgainLater, reason: "slow consumer: resume with since", nowMs: nowMs))
            return
        }
        checkServerFrames(frame)
        queued += frame.count
    }

    /// Server frames: FIN set, no RSV bits, unmasked, lengths consistent, a known opcode,
    /// close codes valid on the wire, nothing after a close frame.
    func checkServerFrames(_ bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            require(!closeFrameSent, "a frame after our close frame")
            require(bytes.count - i >= 2, "truncated frame header")
            let b0 = bytes[i], b1 = bytes[i + 1]
            require(b0 & 0xF0 == 0x80, "server frame with FIN/RSV bits \(b0 >> 4)")
            require(b1 & 0x80 == 0, "masked server frame")
            var length = Int(b1 & 0x7F)
            var header = 2
            if length == 126 {
                require(bytes.count - i >= 4, "truncated length"); length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]); header = 4
            } else if length == 127 {
                require(bytes.count - i >= 10, "truncated length")
                length = 0
                for k in 2..<10 { length = length << 8 | Int(bytes[i + k]) }
                header = 10
            }
            require(bytes.count - i - header >= length, "frame longer than the bytes")
            let opcode = b0 & 0x0F
            require([0x1, 0x2, 0x8, 0x9, 0xA].contains(opcode), "server opcode \(opcode)")
            if opcode >= 0x8 { require(length <= 125, "control frame of \(length) bytes") }
            if opcode == 0x8 {
                require(length != 1, "close payload of 1 byte")
                if length >= 2 {
                    let code = UInt16(bytes[i + header]) << 8 | UInt16(bytes[i + header + 1])
                    require(CloseCode.isValidReceived(code), "close code \(code) on the wire")
                }
                closeFrameSent = true
            }
            i += header + length
        }
    }

    /// `Connection.processInput`.
    func processInput() {
        guard !isClosed else { return }
        var steps = 0
        while true {
            let action = machine.nextInput(nowMs: nowMs, queuedOutputBytes: queued, shuttingDown: false)
            if case .none = action { break }
            perform(action)
            checkFlags()
            steps += 1
            require(steps < 100_000, "nextInput does not settle")
        }
        _ = machine.wantsToRead(queuedOutputBytes: queued)
    }

    func feed(_ bytes: ArraySlice<UInt8>) {
        if isClosed { return }
        bytes.withUnsafeBytes { machine.received($0) }
        processInput()
    }

    /// `Connection.flush` once the kernel took `n` bytes (everything when nil).
    func drain(_ n: Int? = nil) {
        guard !isClosed else { return }
        queued = n.map { max(0, queued - $0) } ?? 0
        guard queued == 0 else { return }
        perform(machine.outputDrained())
        checkFlags()
        if machine.phase == .http { processInput() }
    }

    func tick(advanceMs: Int64) {
        nowMs += advanceMs
        let due = machine.nextTickDueMs
        if nowMs < due {
            // `Connection.tick` does not call the machine before its due time: that must
            // never skip an action.
            var copy = machine
            if case .none = copy.tick(nowMs: nowMs) {} else { require(false, "tick acted at \(nowMs), before its due time \(due)") }
        }
        let action = machine.tick(nowMs: nowMs)
        if case .none = action {
            // A due time in the past would make every later tick reach the machine.
            require(machine.nextTickDueMs > nowMs, "nothing done at \(nowMs) yet due at \(machine.nextTickDueMs)")
        }
        perform(action)
        checkFlags()
    }

    func peerClosed() {
        guard !isClosed else { return }
        perform(machine.peerClosed(queuedOutputBytes: queued))
        processInput()
        checkFlags()
    }

    func deferredAnswer(status: Int) {
        guard !isClosed, awaitingDeferred else { return }
        awaitingDeferred = false
        let response = HTTPResponse(status: status % 2 == 0 ? .ok : .serviceUnavailable, body: Array("later".utf8))
        perform(machine.deferredAnswerReady(response, shuttingDown: status % 4 == 3))
        processInput()
        checkFlags()
    }

    /// Every event on a closed machine must do nothing.
    func checkClosedIsInert() {
        guard isClosed else { return }
        var copy = machine
        require(copy.phase == .closed, "not closed")
        if case .none = copy.tick(nowMs: nowMs + 3_600_000) {} else { require(false, "tick acted after the close") }
        if case .none = copy.peerClosed(queuedOutputBytes: 0) {} else { require(false, "peerClosed acted after the close") }
        if case .none = copy.outputDrained() {} else { require(false, "outputDrained acted after the close") }
        if case .none = copy.nextInput(nowMs: nowMs, queuedOutputBytes: 0, shuttingDown: false) {} else {
            require(false, "nextInput acted after the close")
        }
        if case .none = copy.startClose(code: 1000, reason: "", nowMs: nowMs) {} else { require(false, "startClose acted after the close") }
        require(!copy.wantsToRead(queuedOutputBytes: 0), "a closed machine wants to read")
    }
}

private let tickSteps: [Int64] = [0, 1, 10, 100, 250, 500, 999, 1_000, 2_000, 4_999, 5_000, 9_999, 10_000, 29_999, 30_000, 60_000]
private let appCloseCodes: [UInt16] = [CloseCode.normal, CloseCode.goingAway, CloseCode.policyViolation,
                                       CloseCode.internalError, CloseCode.tryAgainLater, 4000, 1001, 1000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConnection(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    guard !input.isEmpty else { return 0 }
    let scriptEnd = min(input.count, 1 + Int(input[0]))
    let script = input[1..<scriptEnd]
    let stream = input[scriptEnd...]
    var cursor = stream.startIndex
    let driver = Driver()

    for op in script {
        let argument = Int(op >> 3)
        switch op & 7 {
        case 0, 1:   // client bytes: 1...32 of them
            let end = min(stream.endIndex, cursor + argument + 1)
            driver.feed(stream[cursor..<end])
            cursor = end
        case 2:
            driver.tick(advanceMs: tickSteps[argument & 15] * (argument >= 16 ? 2 : 1))
        case 3:      // the kernel takes some (argument 0: all) of the queued output
            driver.drain(argument == 0 ? nil : argument * 16)
        case 4:
            driver.peerClosed()
        case 5:
            driver.deferredAnswer(status: argument)
        case 6:      // the application closes the WebSocket (a shutdown, a failed replay, ...)
            if !driver.isClosed {
                driver.perform(driver.machine.startClose(code: appCloseCodes[argument & 7], reason: argument >= 8 ? "why" : "",
                                                         nowMs: driver.nowMs))
                driver.checkFlags()
            }
        default:     // the application sends frames (live events) of 8 * argument bytes
            driver.sendFrame(FrameEncoder.frame(opcode: .text, payload: [UInt8](repeating: 0x61, count: 8 * argument)))
            driver.checkFlags()
        }
        driver.checkClosedIsInert()
    }
    // The rest of the bytes in pieces, a reading client, then time until everything ends.
    let rest = Array(stream[cursor...])
    for cut in pieces(count: rest.count, seed: fnv1a(input)) {
        driver.feed(rest[cut])
        driver.drain()
        driver.checkClosedIsInert()
    }
    driver.deferredAnswer(status: 0)
    for _ in 0..<8 where !driver.isClosed {
        driver.drain()
        driver.tick(advanceMs: 30_000)
        driver.peerClosed()
        driver.checkClosedIsInert()
    }
    require(driver.isClosed, "still \(driver.machine.phase) after the peer closed and the deadlines passed")
    driver.checkClosedIsInert()
    return 0
}
