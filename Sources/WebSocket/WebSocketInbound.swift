/// One item the reader produced from client bytes.
public enum WebSocketInbound: Equatable, Sendable {
    /// A complete text message (fragments joined), already checked to be valid UTF-8.
    case text([UInt8])
    /// A complete binary message (fragments joined).
    case binary([UInt8])
    /// A ping; the server answers with a pong carrying the same payload.
    case ping([UInt8])
    /// A pong (unsolicited ones are allowed and carry no meaning).
    case pong([UInt8])
    /// A well-formed close frame. `code` is nil when the payload was empty; `reason` is valid UTF-8.
    case close(code: UInt16?, reason: [UInt8])
    /// The client broke the protocol: the server must send close(`code`) and stop reading.
    case violation(code: UInt16, reason: String)
}
