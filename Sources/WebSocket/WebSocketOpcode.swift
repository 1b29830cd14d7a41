/// The frame opcodes RFC 6455 §5.2 defines. Every other value (3-7, 11-15) is reserved,
/// so `WebSocketOpcode(rawValue:)` returning nil is how the reader spots them.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0
    case text = 1
    case binary = 2
    case close = 8
    case ping = 9
    case pong = 10

    /// Control frames (close, ping, pong) have the high opcode bit set (§5.5).
    public var isControl: Bool { rawValue & 0x08 != 0 }
}
