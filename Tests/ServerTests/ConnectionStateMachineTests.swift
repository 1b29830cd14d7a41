import Auth
import HTTP1
import Testing
import WebSocket
@testable import OrderPushServer

/// Drives `ConnectionStateMachine` with bytes, answers and times, without sockets. Actions are
/// compared as short descriptions ("request GET /a", "respond 200", "close 1000", ...).
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    static let settings = Machine.Settings(headerTimeoutMs: 10_000, closeTimeoutMs: 5_000, pingIntervalMs: 30_000,
                                           lingerMs: 2_000, pipelineOutputPause: 1_000)
    static let upgradeRequest = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    // MARK: - HTTP

    @Test func pipelinedRequestsAreHandedOutOneAtATimeInOrder() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /a"])
        #expect(describe(m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)) == "respond 200")
        #expect(drain(&m) == ["request GET /b"])
        #expect(describe(m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)) == "respond 200")
        #expect(drain(&m).isEmpty)
        #expect(m.phase == .http)
        #expect(!m.closesAfterFlush)
    }

    @Test func aDeferredAnswerPausesReadingAndTheNextRequestWaitsForIt() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request POST /a"])
        #expect(describe(m.requestHandled(.deferred, nowMs: 1)) == "none")
        #expect(m.isAwaitingAnswer)
        #expect(!m.wantsToRead(queuedOutputBytes: 0))
        #expect(drain(&m).isEmpty, "/b must wait for /a's answer")
        #expect(describe(m.deferredAnswerReady(.json(.created, []), shuttingDown: false)) == "respond 201")
        #expect(!m.isAwaitingAnswer)
        #expect(m.wantsToRead(queuedOutputBytes: 0))
        #expect(drain(&m) == ["request GET /b"])
    }

    @Test func aDeferredAnswerWithoutAPendingRequestIsIgnored() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        #expect(describe(m.deferredAnswerReady(.json(.created, []), shuttingDown: false)) == "none")
        #expect(m.phase == .http)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /a"], "the state survived the ignored event")
    }

    @Test func pipeliningPausesWhileMuchOutputWaits() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m, queued: 1_000).isEmpty)
        #expect(!m.wantsToRead(queuedOutputBytes: 1_000))
        #expect(m.wantsToRead(queuedOutputBytes: 999))
        #expect(drain(&m, queued: 0) == ["request GET /a"])
    }

    @Test func connectionCloseAnswerEndsTheExchangeAndLingers() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /a"])
        let answer = m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)
        guard case .respond(let bytes, _) = answer else { Issue.record("no answer"); return }
        #expect(String(decoding: bytes, as: UTF8.self).contains("Connection: close"))
        #expect(drain(&m).isEmpty, "nothing after a Connection: close answer")
        #expect(describe(m.outputDrained()) == "linger")
        m.startedLingering(nowMs: 100)
        #expect(m.phase == .lingering)
        #expect(describe(m.tick(nowMs: 2_099)) == "none")
        #expect(describe(m.tick(nowMs: 2_100)) == "closeNow")
        #expect(describe(m.peerClosed(queuedOutputBytes: 0)) == "closeNow")
    }

    @Test func malformedRequestGetsItsErrorThenClose() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET / HTTP/2.0\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["respond 505"])
        #expect(m.closesAfterFlush)
        feed(&m, "GET /more HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m).isEmpty)
        #expect(describe(m.outputDrained()) == "linger")
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "POST /a HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(drain(&m) == ["continue"])
        feed(&m, "hi")
        #expect(drain(&m) == ["request POST /a"])
    }

    @Test func slowHeadersGet408ButAnIdleKeepAliveConnectionJustCloses() {
        var slow = Machine(settings: Self.settings, nowMs: 0)
        feed(&slow, "GET /a HTTP/1.1\r\nHost:")
        #expect(drain(&slow).isEmpty)
        #expect(describe(slow.tick(nowMs: 9_999)) == "none")
        #expect(describe(slow.tick(nowMs: 10_000)) == "respond 408")
        #expect(slow.closesAfterFlush)
        #expect(describe(slow.tick(nowMs: 20_000)) == "none", "408 is sent once")

        var idle = Machine(settings: Self.settings, nowMs: 0)
        feed(&idle, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&idle, nowMs: 5_000) == ["request GET /a"])
        _ = idle.requestHandled(.respond(.json(.ok, [])), nowMs: 5_000)
        // The idle limit counts from the last request, not from the accept.
        #expect(describe(idle.tick(nowMs: 14_999)) == "none")
        #expect(describe(idle.tick(nowMs: 15_000)) == "closeNow")
    }

    @Test func aDeferredRequestIsNotTimedOut() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        _ = drain(&m)
        _ = m.requestHandled(.deferred, nowMs: 0)
        #expect(describe(m.tick(nowMs: 60_000)) == "none")
    }

    @Test func halfClosedClientStillGetsItsAnswers() {
        // Both requests arrive, then the client's FIN, while the first answer is still queued.
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /a"])
        _ = m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)
        #expect(describe(m.peerClosed(queuedOutputBytes: 100)) == "none")
        #expect(!m.wantsToRead(queuedOutputBytes: 100), "nothing more can arrive")
        #expect(drain(&m, queued: 100) == ["request GET /b"])
        _ = m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)
        #expect(drain(&m, queued: 200).isEmpty)
        #expect(describe(m.outputDrained()) == "linger")
    }

    @Test func halfClosedClientGetsItsDeferredAnswer() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        _ = drain(&m)
        _ = m.requestHandled(.deferred, nowMs: 0)
        #expect(describe(m.peerClosed(queuedOutputBytes: 0)) == "none")
        #expect(describe(m.deferredAnswerReady(.json(.created, []), shuttingDown: false)) == "respond 201")
        #expect(drain(&m, queued: 80).isEmpty)
        #expect(describe(m.outputDrained()) == "linger")
        // A second end of stream (the peer is gone entirely) closes at once.
        var gone = Machine(settings: Self.settings, nowMs: 0)
        feed(&gone, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        _ = drain(&gone)
        _ = gone.requestHandled(.deferred, nowMs: 0)
        _ = gone.peerClosed(queuedOutputBytes: 0)
        #expect(describe(gone.peerClosed(queuedOutputBytes: 0)) == "closeNow")
    }

    @Test func anIdleClientClosingIsClosedAtOnce() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        #expect(describe(m.peerClosed(queuedOutputBytes: 0)) == "closeNow")
    }

    @Test func shuttingDownTurnsKeepAliveOff() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m, shuttingDown: true) == ["request GET /a"])
        _ = m.requestHandled(.respond(.json(.ok, [])), nowMs: 1)
        #expect(m.closesAfterFlush)
    }

    // MARK: - Upgrade

    @Test func upgradeKeepsTheFramesThatCameWithTheHandshake() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        feed(&m, Array(Self.upgradeRequest.utf8) + clientFrame(0x1, Array("hi".utf8)))
        #expect(drain(&m) == ["request GET /ws"])
        #expect(!m.acceptsFrames)
        let opened = m.requestHandled(.upgrade(switching(), session(.echo)), nowMs: 1)
        #expect(describe(opened) == "open")
        #expect(m.phase == .webSocket)
        #expect(m.acceptsFrames)
        #expect(drain(&m) == ["message text hi"])
    }

    @Test func theReaderIsHeldOnlyWhileAFrameOrMessageIsInProgress() {
        var m = openWebSocket()
        #expect(!holdsReader(m), "an idle WebSocket holds no reader")
        var first = clientFrame(0x1, Array("he".utf8))
        first[0] = 0x01   // FIN clear: the message goes on in a continuation frame
        feed(&m, first)
        #expect(drain(&m).isEmpty)
        #expect(holdsReader(m), "a fragmented message is open")
        let rest = clientFrame(0x0, Array("llo".utf8))
        feed(&m, Array(rest[..<4]))   // the continuation's header, cut inside its mask key
        #expect(drain(&m).isEmpty)
        feed(&m, Array(rest[4...]))
        #expect(drain(&m) == ["message text hello"])
        #expect(!holdsReader(m), "the reader goes once the message is handed out")
        let next = clientFrame(0x1, Array("again".utf8))
        feed(&m, Array(next[..<1]))
        #expect(drain(&m).isEmpty)
        #expect(holdsReader(m), "half a header is kept")
        feed(&m, Array(next[1...]))
        #expect(drain(&m) == ["message text again"])
        #expect(!holdsReader(m))
        feed(&m, clientFrame(0x8, [0x03, 0xE8]))
        #expect(drain(&m) == ["close 1000"])
        feed(&m, clientFrame(0x1, Array("late".utf8)))
        #expect(drain(&m).isEmpty, "nothing is read after the close")
    }

    func holdsReader(_ m: Machine) -> Bool {
        if case .webSocket(let ws) = m.state { return ws.holdsReader }
        return false
    }

    // MARK: - WebSocket close handshake

    @Test func clientStartedCloseIsEchoedThenLingers() {
        var m = openWebSocket()
        feed(&m, clientFrame(0x8, [0x03, 0xE8]))   // 1000
        #expect(drain(&m) == ["close 1000"])
        #expect(!m.acceptsFrames)
        #expect(m.webSocketStatus?.closeSent == true)
        feed(&m, clientFrame(0x1, Array("late".utf8)))
        #expect(drain(&m).isEmpty, "nothing is handled after the close")
        #expect(describe(m.outputDrained()) == "linger")
        m.startedLingering(nowMs: 10)
        #expect(m.phase == .lingering)
        #expect(m.webSocketStatus == nil)
    }

    @Test func serverStartedCloseEndsWhenTheClientAnswers() {
        var m = openWebSocket()
        #expect(describe(m.startClose(code: CloseCode.goingAway, reason: "bye", nowMs: 100)) == "close 1001")
        #expect(!m.acceptsFrames)
        #expect(describe(m.startClose(code: CloseCode.goingAway, reason: "again", nowMs: 100)) == "none")
        // Messages after our close are dropped; pings are not answered.
        feed(&m, clientFrame(0x1, Array("x".utf8)) + clientFrame(0x9, []))
        #expect(drain(&m).isEmpty)
        feed(&m, clientFrame(0x8, [0x03, 0xE9]))
        #expect(drain(&m, queued: 0) == ["linger"])
    }

    @Test func serverStartedCloseWithOutputStillQueuedLingersAfterTheDrain() {
        var m = openWebSocket()
        _ = m.startClose(code: CloseCode.normal, reason: "", nowMs: 100)
        feed(&m, clientFrame(0x8, [0x03, 0xE8]))
        #expect(drain(&m, queued: 50).isEmpty)
        #expect(describe(m.outputDrained()) == "linger")
    }

    @Test func closeHandshakeTimesOut() {
        var m = openWebSocket()
        _ = m.startClose(code: CloseCode.goingAway, reason: "", nowMs: 1_000)
        #expect(describe(m.tick(nowMs: 5_999)) == "none")
        #expect(describe(m.tick(nowMs: 6_000)) == "closeNow")
    }

    @Test func startCloseOutsideAWebSocketChangesNothing() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        #expect(describe(m.startClose(code: CloseCode.goingAway, reason: "", nowMs: 0)) == "none")
        feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /a"])
    }

    // MARK: - Pings

    @Test func silentClientIsPingedThenClosedWhenItDoesNotAnswer() {
        var m = openWebSocket(nowMs: 0)
        #expect(describe(m.tick(nowMs: 29_999)) == "none")
        #expect(describe(m.tick(nowMs: 30_000)) == "ping")
        #expect(describe(m.tick(nowMs: 59_999)) == "none")
        #expect(describe(m.tick(nowMs: 60_000)) == "close 1001")
        #expect(!m.acceptsFrames)
    }

    @Test func anyFrameFromTheClientAnswersThePing() {
        var m = openWebSocket(nowMs: 0)
        #expect(describe(m.tick(nowMs: 30_000)) == "ping")
        feed(&m, clientFrame(0xA, []))   // pong
        #expect(drain(&m, nowMs: 40_000).isEmpty)
        #expect(describe(m.tick(nowMs: 60_000)) == "none")
        #expect(describe(m.tick(nowMs: 70_000)) == "ping")
    }

    @Test func clientPingsAreAnsweredWithTheirPayload() {
        var m = openWebSocket()
        feed(&m, clientFrame(0x9, [7, 8]))
        #expect(drain(&m) == ["pong 0708"])
    }

    // MARK: - Violations and the message rate

    @Test func violationsCloseWithTheirCode() {
        var unmasked = openWebSocket()
        feed(&unmasked, clientFrame(0x1, Array("hi".utf8), masked: false))
        #expect(drain(&unmasked) == ["close 1002"])
        #expect(unmasked.closesAfterFlush)
        #expect(describe(unmasked.outputDrained()) == "linger")

        var badText = openWebSocket()
        feed(&badText, clientFrame(0x1, [0xC3, 0x28]))
        #expect(drain(&badText) == ["close 1007"])

        var tooBig = openWebSocket(maxMessageBytes: 10)
        feed(&tooBig, clientFrame(0x2, [UInt8](repeating: 1, count: 11)))
        #expect(drain(&tooBig) == ["close 1009"])
    }

    @Test func aClientOverItsMessageRateIsClosedWith1008() {
        var m = openWebSocket(rate: MessageRateLimit(perSecond: 50, burst: 100))
        var burst: [UInt8] = []
        for _ in 0..<150 { burst += clientFrame(0x1, Array("m".utf8)) }
        feed(&m, burst)
        let actions = drain(&m, nowMs: 0)
        #expect(actions.count == 101)
        #expect(actions.prefix(100).allSatisfy { $0 == "message text m" })
        #expect(actions.last == "close 1008")
        #expect(!m.acceptsFrames)
        #expect(m.closesAfterFlush)
    }

    @Test func aClientWithinItsMessageRateIsNotClosed() {
        var m = openWebSocket(rate: MessageRateLimit(perSecond: 50, burst: 100))
        // 40 messages per second for 30 seconds (1 200 messages, far more than the burst).
        for i in 0..<1_200 {
            feed(&m, clientFrame(0x1, Array("m".utf8)))
            let actions = drain(&m, nowMs: Int64(i) * 25)
            if actions != ["message text m"] {
                Issue.record("message \(i): \(actions)")
                return
            }
        }
        #expect(m.acceptsFrames)
    }

    @Test func exemptEndpointsHaveNoRate() {
        var m = openWebSocket(rate: nil)
        var burst: [UInt8] = []
        for _ in 0..<1_000 { burst += clientFrame(0x1, Array("m".utf8)) }
        feed(&m, burst)
        #expect(drain(&m, nowMs: 0).count == 1_000)
    }

    @Test func tokenBucketRefillsAtItsRateUpToItsBurst() {
        var bucket = TokenBucket(capacity: 3, ratePerSecond: 10, nowMs: 0)
        var taken: [Bool] = []
        // A full burst at once, then one every 100 ms (10 per second), capped at the burst.
        for nowMs: Int64 in [0, 0, 0, 0, 99, 100, 100, 1_000_000, 1_000_000, 1_000_000, 1_000_000] {
            taken.append(bucket.take(nowMs: nowMs) == .allowed)
        }
        #expect(taken == [true, true, true, false, false, true, false, true, true, true, false])
    }

    // MARK: - Event stream

    @Test func anEventStreamAnswersWithACloseDelimitedHeadAndStopsParsing() {
        var m = Machine(settings: Self.settings, nowMs: 0)
        // A second request pipelined behind the stream's is never answered: the stream has
        // the connection until it closes.
        feed(&m, "GET /api/events HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m) == ["request GET /api/events"])
        let opened = m.requestHandled(.eventStream(streamHead(), streamSession(maxOutputBytes: 4096)), nowMs: 5)
        guard case .openEventStream(let head, let cap) = opened else { Issue.record("not opened: \(describe(opened))"); return }
        let text = String(decoding: head, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Type: text/event-stream\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(!text.contains("Content-Length"))
        #expect(text.hasSuffix("\r\n\r\n"))
        #expect(cap == 4096)
        #expect(m.phase == .streaming)
        #expect(m.acceptsFrames)
        #expect(m.eventStreamSession?.channel == "admin")
        #expect(drain(&m).isEmpty, "the pipelined request is not parsed")
        feed(&m, "GET /c HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(drain(&m).isEmpty, "what the client sends later is dropped")
        #expect(m.wantsToRead(queuedOutputBytes: 1 << 20), "reads go on, to notice the client's close")
        #expect(describe(m.outputDrained()) == "none", "a drained stream stays open")
        #expect(describe(m.tick(nowMs: 10_000)) == "none", "no header timeout on a stream")
    }

    @Test func idleStreamsGetAHeartbeatEveryInterval() {
        var m = openEventStream(nowMs: 1_000, heartbeatMs: 15_000)
        #expect(describe(m.tick(nowMs: 15_999)) == "none")
        let beat = m.tick(nowMs: 16_000)
        guard case .send(let bytes) = beat else { Issue.record("no heartbeat: \(describe(beat))"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == ": keepalive\n\n")
        #expect(describe(m.tick(nowMs: 16_001)) == "none")
        #expect(describe(m.tick(nowMs: 30_999)) == "none")
        #expect(describe(m.tick(nowMs: 31_000)) == "send 13 bytes")
    }

    @Test func theClientClosingAStreamClosesAtOnce() {
        var m = openEventStream()
        #expect(describe(m.peerClosed(queuedOutputBytes: 500)) == "closeNow")
    }

    @Test func anEndedStreamTakesNothingMoreAndLingersOnceDrained() {
        var m = openEventStream()
        #expect(describe(m.endStream(nowMs: 10, queuedOutputBytes: 300)) == "none")
        #expect(!m.acceptsFrames)
        #expect(m.closesAfterFlush)
        #expect(describe(m.endStream(nowMs: 11, queuedOutputBytes: 300)) == "none", "ending twice changes nothing")
        #expect(describe(m.tick(nowMs: 60_000 - 1)) != "send 13 bytes", "no heartbeat after the end")
        #expect(describe(m.outputDrained()) == "linger")
        m.startedLingering(nowMs: 100)
        #expect(m.phase == .lingering)
    }

    @Test func anEndedStreamWithNothingQueuedLingersAtOnce() {
        var m = openEventStream()
        #expect(describe(m.endStream(nowMs: 10, queuedOutputBytes: 0)) == "linger")
    }

    @Test func anEndedStreamWhoseClientDoesNotReadIsDroppedAfterTheCloseTimeout() {
        var m = openEventStream()
        _ = m.endStream(nowMs: 1_000, queuedOutputBytes: 300)
        #expect(describe(m.tick(nowMs: 5_999)) == "none")
        #expect(describe(m.tick(nowMs: 6_000)) == "closeNow")
    }

    @Test func endStreamOutsideAStreamChangesNothing() {
        var http = Machine(settings: Self.settings, nowMs: 0)
        #expect(describe(http.endStream(nowMs: 1, queuedOutputBytes: 0)) == "none")
        #expect(http.phase == .http && !http.closesAfterFlush)
        var ws = openWebSocket()
        #expect(describe(ws.endStream(nowMs: 1, queuedOutputBytes: 0)) == "none")
        #expect(ws.phase == .webSocket && ws.acceptsFrames)
    }

    // MARK: - Skipping ticks before `nextTickDueMs`

    /// Two machines get the same events; one is ticked every 250 ms, the other only from its
    /// `nextTickDueMs` on (as `Connection.tick` does). Their actions must be the same, tick by
    /// tick: skipping never delays or drops a deadline, a ping or a heartbeat.
    struct Twin {
        var always: Machine
        var skipping: Machine
        var actions: [String] = []
        var ticksReachingTheSkippingMachine = 0
        var closed = false

        mutating func apply(_ step: (inout Machine) -> Void) {
            step(&always)
            step(&skipping)
        }

        mutating func tick(nowMs: Int64, describe: (Machine.Action) -> String, location: SourceLocation = #_sourceLocation) {
            guard !closed else { return }
            let expected = describe(always.tick(nowMs: nowMs))
            var got = "none"
            if nowMs >= skipping.nextTickDueMs {
                ticksReachingTheSkippingMachine += 1
                got = describe(skipping.tick(nowMs: nowMs))
            }
            #expect(got == expected, "at \(nowMs) ms", sourceLocation: location)
            if expected != "none" { actions.append("\(nowMs) \(expected)") }
            if expected == "closeNow" { closed = true }
        }
    }

    /// Runs `twin` from `fromMs` to `toMs`, a tick every 250 ms, with `events` applied at their times.
    func run(_ twin: inout Twin, fromMs: Int64 = 0, toMs: Int64, events: [Int64: (inout Machine) -> Void] = [:]) {
        var t = fromMs
        while t <= toMs {
            if let event = events[t] { twin.apply(event) }
            twin.tick(nowMs: t, describe: describe)
            t += 250
        }
    }

    @Test func skippingTicksBeforeTheDueTimeChangesNoActionOfAWebSocket() {
        // Silent client: ping at 30 s, close 1001 at 60 s, dropped when the close times out.
        var silent = Twin(always: openWebSocket(), skipping: openWebSocket())
        run(&silent, toMs: 70_000)
        #expect(silent.actions == ["30000 ping", "60000 close 1001", "65000 closeNow"])
        #expect(silent.ticksReachingTheSkippingMachine <= 4, "an idle socket's ticks are skipped")

        // A pong at 40.1 s moves the next ping to 70.1 s (on the 70.25 s tick); a close the
        // server starts at 80 s times out at 85 s.
        var answering = Twin(always: openWebSocket(), skipping: openWebSocket())
        let pong: (inout Machine) -> Void = { m in
            self.feed(&m, self.clientFrame(0xA, []))
            _ = self.drain(&m, nowMs: 40_100)
        }
        run(&answering, toMs: 40_000)
        answering.apply(pong)
        let close: (inout Machine) -> Void = { m in _ = m.startClose(code: CloseCode.goingAway, reason: "", nowMs: 80_000) }
        run(&answering, fromMs: 40_250, toMs: 90_000, events: [80_000: close])
        #expect(answering.actions == ["30000 ping", "70250 ping", "85000 closeNow"])
    }

    @Test func skippingTicksBeforeTheDueTimeChangesNoActionOfHTTPOrAStream() {
        // Headers cut short: 408 at 10 s, once.
        let slowHeaders: (inout Machine) -> Void = { m in
            self.feed(&m, "GET /a HTTP/1.1\r\nHost:")
            _ = self.drain(&m)
        }
        var slow = Twin(always: Machine(settings: Self.settings, nowMs: 0), skipping: Machine(settings: Self.settings, nowMs: 0))
        slow.apply(slowHeaders)
        run(&slow, toMs: 30_000)
        #expect(slow.actions == ["10000 respond 408"])

        // A request answered at 5 s: the idle keep-alive limit counts from there (was armed at 0).
        var idle = Twin(always: Machine(settings: Self.settings, nowMs: 0), skipping: Machine(settings: Self.settings, nowMs: 0))
        let request: (inout Machine) -> Void = { m in
            self.feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = self.drain(&m, nowMs: 5_000)
            _ = m.requestHandled(.respond(.json(.ok, [])), nowMs: 5_000)
        }
        run(&idle, toMs: 30_000, events: [5_000: request])
        #expect(idle.actions == ["15000 closeNow"])

        // An event stream: heartbeats every 15 s; ended at 50 s with output queued, dropped 5 s later.
        var stream = Twin(always: openEventStream(heartbeatMs: 15_000), skipping: openEventStream(heartbeatMs: 15_000))
        let end: (inout Machine) -> Void = { m in _ = m.endStream(nowMs: 50_000, queuedOutputBytes: 300) }
        run(&stream, toMs: 70_000, events: [50_000: end])
        #expect(stream.actions == ["15000 send 13 bytes", "30000 send 13 bytes", "45000 send 13 bytes", "55000 closeNow"])

        // Lingering after a `Connection: close` answer: closed when the linger time is up.
        var lingering = Twin(always: Machine(settings: Self.settings, nowMs: 0), skipping: Machine(settings: Self.settings, nowMs: 0))
        let closeAnswer: (inout Machine) -> Void = { m in
            self.feed(&m, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            _ = self.drain(&m, nowMs: 1_000)
            _ = m.requestHandled(.respond(.json(.ok, [])), nowMs: 1_000)
            m.startedLingering(nowMs: 1_000)
        }
        run(&lingering, toMs: 10_000, events: [1_000: closeAnswer])
        #expect(lingering.actions == ["3000 closeNow"])
    }

    // MARK: - Helpers

    func streamHead() -> HTTPResponse {
        HTTPResponse(status: .ok, headers: HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]))
    }

    func streamSession(maxOutputBytes: Int = 1 << 20) -> EventStreamSession {
        EventStreamSession(client: PushClient(claims: Claims(sub: "ops", role: .admin, exp: 0)), channel: "admin",
                           since: nil, epoch: nil, maxOutputBytes: maxOutputBytes)
    }

    func openEventStream(nowMs: Int64 = 0, heartbeatMs: Int64 = 30_000) -> Machine {
        var settings = Self.settings
        settings.heartbeatIntervalMs = heartbeatMs
        var m = Machine(settings: settings, nowMs: nowMs)
        feed(&m, "GET /api/events?channel=admin HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = drain(&m, nowMs: nowMs)
        _ = m.requestHandled(.eventStream(streamHead(), streamSession()), nowMs: nowMs)
        return m
    }

    func session(_ endpoint: WebSocketSession.Endpoint, rate: MessageRateLimit? = nil,
                 maxMessageBytes: Int = 1 << 20) -> WebSocketSession {
        WebSocketSession(endpoint: endpoint, maxMessageBytes: maxMessageBytes, maxOutputBytes: 1 << 20, messageRate: rate)
    }

    func switching() -> HTTPResponse { HTTPResponse(status: HTTPStatus(code: 101, reason: "Switching Protocols")) }

    func openWebSocket(nowMs: Int64 = 0, rate: MessageRateLimit? = nil, maxMessageBytes: Int = 1 << 20) -> Machine {
        var m = Machine(settings: Self.settings, nowMs: nowMs)
        feed(&m, Self.upgradeRequest)
        _ = drain(&m, nowMs: nowMs)
        _ = m.requestHandled(.upgrade(switching(), session(.echo, rate: rate, maxMessageBytes: maxMessageBytes)), nowMs: nowMs)
        return m
    }

    func feed(_ m: inout Machine, _ text: String) { feed(&m, Array(text.utf8)) }

    func feed(_ m: inout Machine, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { m.received($0) }
    }

    /// Every action buffered input produces, until `.none`.
    func drain(_ m: inout Machine, nowMs: Int64 = 0, queued: Int = 0, shuttingDown: Bool = false) -> [String] {
        var out: [String] = []
        while out.count <= 10_000 {
            let action = m.nextInput(nowMs: nowMs, queuedOutputBytes: queued, shuttingDown: shuttingDown)
            if case .none = action { break }
            out.append(describe(action))
        }
        return out
    }

    func describe(_ action: Machine.Action) -> String {
        switch action {
        case .none: return "none"
        case .respond(_, let status): return "respond \(status)"
        case .handleRequest(let r): return "request \(r.method) \(r.path)"
        case .openWebSocket: return "open"
        case .openEventStream: return "open stream"
        case .handleMessage(.text(let b)): return "message text " + String(decoding: b, as: UTF8.self)
        case .handleMessage(let other): return "message \(other)"
        case .closeNow: return "closeNow"
        case .halfCloseAndLinger: return "linger"
        case .closeOverMessageRate(let bytes): return describe(.send(bytes))
        case .send(let bytes):
            if bytes.starts(with: Array("HTTP/1.1 100".utf8)) { return "continue" }
            switch bytes.first {
            case 0x88?: return bytes.count >= 4 ? "close \(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))" : "close"
            case 0x89?: return "ping"
            case 0x8A?: return "pong " + bytes.dropFirst(2).map(hex).joined()
            default: return "send \(bytes.count) bytes"
            }
        }
    }

    func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// A client frame: masked unless told otherwise (an unmasked one is a violation).
    func clientFrame(_ opcode: UInt8, _ payload: [UInt8], masked: Bool = true) -> [UInt8] {
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        let maskBit: UInt8 = masked ? 0x80 : 0
        var out: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            out.append(maskBit | UInt8(payload.count))
        } else {
            out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        if masked {
            out += key
            out += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        } else {
            out += payload
        }
        return out
    }
}
