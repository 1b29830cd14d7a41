/// One server-to-client WebSocket frame found in a buffer (servers never mask).
struct Frame {
    let fin: Bool
    let opcode: UInt8
    let payload: Range<Int>
    /// RSV1: a permessage-deflate message.
    var compressed = false
}

/// Client side of RFC 6455 framing: scanning unmasked server frames, encoding masked ones.
enum Frames {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let continuation: UInt8 = 0x0
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    /// The frame starting at `offset`, or nil when it is not complete yet.
    @inline(__always)
    static func next(in buffer: UnsafeRawBufferPointer, at offset: Int) -> Frame? {
        let available = buffer.count - offset
        guard available >= 2 else { return nil }
        let b0 = buffer[offset], b1 = buffer[offset + 1]
        var length = Int(b1 & 0x7f)
        var header = 2
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | Int(buffer[offset + i]) }
            header = 10
        }
        if b1 & 0x80 != 0 { header += 4 }   // a masked server frame is a protocol error; skip the key
        guard available >= header + length else { return nil }
        let start = offset + header
        return Frame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0f, payload: start..<(start + length), compressed: b0 & 0x40 != 0)
    }

    /// Appends one masked frame to `out` (clients must mask, RFC 6455 §5.3).
    static func appendMasked(opcode: UInt8, payload: UnsafeRawBufferPointer, mask: UInt32, to out: inout [UInt8]) {
        out.append(0x80 | opcode)
        let n = payload.count
        if n < 126 {
            out.append(0x80 | UInt8(n))
        } else if n <= 0xffff {
            out.append(0x80 | 126)
            out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xff))
        } else {
            out.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((n >> shift) & 0xff)) }
        }
        let key = [UInt8(mask >> 24), UInt8((mask >> 16) & 0xff), UInt8((mask >> 8) & 0xff), UInt8(mask & 0xff)]
        out.append(contentsOf: key)
        for i in 0..<n { out.append(payload[i] ^ key[i & 3]) }
    }

    static func appendMasked(opcode: UInt8, payload: [UInt8], mask: UInt32, to out: inout [UInt8]) {
        payload.withUnsafeBytes { appendMasked(opcode: opcode, payload: $0, mask: mask, to: &out) }
    }

    /// The upgrade request. The key is a fixed valid nonce: the server's answer is checked
    /// for status 101 only, since this tool measures servers, it does not audit them.
    static func upgradeRequest(path: String, authority: String, extensions: String = "") -> [UInt8] {
        Array(("GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (extensions.isEmpty ? "" : "Sec-WebSocket-Extensions: \(extensions)\r\n")
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
    }
}
