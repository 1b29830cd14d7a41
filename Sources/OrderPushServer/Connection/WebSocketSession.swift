import WebSocket

/// What the application chose for an upgraded connection: which endpoint the client reached
/// and the limits that apply to it. The per-connection protocol state (reader, close and
/// ping bookkeeping) lives in `ConnectionStateMachine.WebSocketState`.
struct WebSocketSession {
    enum Endpoint {
        /// `/ws/echo`: every message comes back (conformance suites, benchmarks).
        case echo
        /// `/ws`: the order-event protocol of docs/PROTOCOL.md §3.
        case push(PushClient)
        /// `/ws/broadcast` (`--bench`): every text message goes to every client on it.
        case broadcast
    }

    let endpoint: Endpoint
    let maxMessageBytes: Int
    let maxOutputBytes: Int
    /// Data messages the client may send; nil: unlimited (the echo and bench endpoints,
    /// whose clients legitimately send thousands of messages at once).
    let messageRate: MessageRateLimit?
    /// permessage-deflate as negotiated in the handshake; nil: not in use.
    let deflate: DeflateParameters?

    init(endpoint: Endpoint, maxMessageBytes: Int, maxOutputBytes: Int, messageRate: MessageRateLimit? = nil,
         deflate: DeflateParameters? = nil) {
        self.endpoint = endpoint
        self.maxMessageBytes = maxMessageBytes
        self.maxOutputBytes = maxOutputBytes
        self.messageRate = messageRate
        self.deflate = deflate
    }
}

/// What the application sees of an open WebSocket: its endpoint, and whether the server has
/// already sent its close frame (after which nothing more is delivered to the client).
struct WebSocketStatus {
    let endpoint: WebSocketSession.Endpoint
    let closeSent: Bool
    /// permessage-deflate as negotiated; nil: not in use.
    var deflate: DeflateParameters? = nil
}

/// Inbound data messages allowed per second, with bursts of `burst`.
struct MessageRateLimit: Equatable {
    let perSecond: Int
    let burst: Int
}
