/// Server-to-client frames (RFC 6455 §5.2). Servers never mask, so a frame is just a header
/// and the payload; both come back in one array, which many connections can share as is.
public enum FrameEncoder {
    /// Longest header: 2 bytes plus a 64-bit extended length (no mask key from a server).
    public static let maxHeaderLength = 10

    /// A complete frame: header followed by `payload`. `compressed` sets RSV1, which marks
    /// a permessage-deflate message (RFC 7692 §6; data frames only).
    public static func frame(opcode: WebSocketOpcode, payload: some Collection<UInt8>, fin: Bool = true,
                             compressed: Bool = false) -> [UInt8] {
        let length = payload.count
        var out = [UInt8]()
        out.reserveCapacity(maxHeaderLength + length)
        appendHeader(to: &out, opcode: opcode, length: length, fin: fin, compressed: compressed)
        out.append(contentsOf: payload)
        return out
    }

    /// A close frame with `code` and a UTF-8 `reason`. The reason is cut to the 123 bytes a
    /// control frame leaves for it (§5.5), at a code point boundary so it stays valid UTF-8.
    /// The code is written as given; callers send only codes valid on the wire.
    public static func closeFrame(code: UInt16, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        var reasonBytes = Array(reason.utf8)
        if reasonBytes.count > 123 {
            var end = 123
            // Back up over continuation bytes (10xxxxxx) to the start of the cut code point.
            while end > 0 && reasonBytes[end] & 0xC0 == 0x80 { end -= 1 }
            reasonBytes.removeSubrange(end...)
        }
        payload.append(contentsOf: reasonBytes)
        return frame(opcode: .close, payload: payload)
    }

    /// Appends the header with the shortest length encoding: 7 bits up to 125,
    /// 126 + 16 bits up to 65535, else 127 + 64 bits.
    static func appendHeader(to out: inout [UInt8], opcode: WebSocketOpcode, length: Int, fin: Bool = true,
                             compressed: Bool = false) {
        precondition(length >= 0, "BUG DETECTED: negative WebSocket payload length")
        precondition(!opcode.isControl || (fin && length <= 125),
                     "BUG DETECTED: control frames must be final and carry at most 125 bytes")
        precondition(!compressed || !opcode.isControl, "BUG DETECTED: control frames are never compressed")
        out.append((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode.rawValue)
        switch length {
        case 0...125:
            out.append(UInt8(length))
        case 126...0xFFFF:
            out.append(126)
            out.append(UInt8(length >> 8))
            out.append(UInt8(length & 0xFF))
        default:
            out.append(127)
            let value = UInt64(length)
            for shift in stride(from: 56, through: 0, by: -8) {
                out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
    }
}
