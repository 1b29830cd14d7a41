import WebSocket

/// Per-connection WebSocket state after the upgrade: the inbound reader, which endpoint the
/// client connected to, and the close/ping bookkeeping the connection acts on.
struct WebSocketSession {
    enum Endpoint {
        /// `/ws/echo`: every message comes back (conformance suites, benchmarks).
        case echo
        /// `/ws`: the order-event protocol of docs/PROTOCOL.md §3.
        case push(PushClient)
        /// `/ws/broadcast` (`--bench`): every text message goes to every client on it.
        case broadcast
    }

    enum PingAction { case none, sendPing, timedOut }

    var reader: WebSocketReader
    let endpoint: Endpoint
    let maxOutputBytes: Int
    var closeSent = false
    private var lastInboundMs: Int64
    private var pingSentAtMs: Int64?

    init(endpoint: Endpoint, maxMessageBytes: Int, maxOutputBytes: Int, nowMs: Int64) {
        reader = WebSocketReader(maxMessageBytes: maxMessageBytes)
        self.endpoint = endpoint
        self.maxOutputBytes = maxOutputBytes
        lastInboundMs = nowMs
    }

    /// Any frame from the client proves it is alive, not only a pong.
    mutating func noteInbound(nowMs: Int64) {
        lastInboundMs = nowMs
        pingSentAtMs = nil
    }

    /// Ping a connection that has been silent for an interval; give up on one that has not
    /// answered the previous ping within another interval.
    func pingAction(nowMs: Int64, intervalMs: Int64) -> PingAction {
        if let sent = pingSentAtMs {
            return nowMs - sent >= intervalMs ? .timedOut : .none
        }
        return nowMs - lastInboundMs >= intervalMs ? .sendPing : .none
    }

    mutating func pingSent(nowMs: Int64) { pingSentAtMs = nowMs }
}
