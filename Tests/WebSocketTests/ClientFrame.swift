import WebSocket

/// Builds client-to-server frames the way a browser would (masked), with knobs to break
/// every rule the reader enforces.
enum ClientFrame {
    enum LengthForm {
        case minimal
        case sixteenBit
        case sixtyFourBit
    }

    static let rfcMaskKey: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    static func make(
        opcode: UInt8, payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0,
        mask: [UInt8]? = rfcMaskKey, lengthForm: LengthForm = .minimal
    ) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x07) << 4 | (opcode & 0x0F)]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        let length = payload.count
        let form: LengthForm = lengthForm == .minimal
            ? (length <= 125 ? .minimal : length <= 0xFFFF ? .sixteenBit : .sixtyFourBit)
            : lengthForm
        switch form {
        case .minimal:
            out.append(maskBit | UInt8(length))
        case .sixteenBit:
            out.append(maskBit | 126)
            out += [UInt8(length >> 8), UInt8(length & 0xFF)]
        case .sixtyFourBit:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: length >> shift)) }
        }
        if let mask {
            out += mask
            out.reserveCapacity(out.count + length)
            for (i, byte) in payload.enumerated() { out.append(byte ^ mask[i & 3]) }
        } else {
            out += payload
        }
        return out
    }

    static func make(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        make(opcode: opcode.rawValue, payload: payload, fin: fin)
    }

    static func make(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> [UInt8] {
        make(opcode: opcode.rawValue, payload: Array(text.utf8), fin: fin)
    }

    static func close(code: UInt16, reason: [UInt8] = []) -> [UInt8] {
        make(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }

    /// Turns a server frame from `FrameEncoder` into the same frame as a client would send it.
    static func masked(serverFrame frame: [UInt8], key: [UInt8] = rfcMaskKey) -> [UInt8] {
        let short = frame[1] & 0x7F
        let headerLength = short == 126 ? 4 : short == 127 ? 10 : 2
        var out = Array(frame[..<headerLength])
        out[1] |= 0x80
        out += key
        for (i, byte) in frame[headerLength...].enumerated() { out.append(byte ^ key[i & 3]) }
        return out
    }
}

/// Feeds `bytes` in one go (or in `chunk`-sized pieces) and drains the reader after each feed.
func readAll(_ bytes: [UInt8], maxMessageBytes: Int = 1 << 20, chunk: Int? = nil) -> [WebSocketInbound] {
    readWithReader(bytes, maxMessageBytes: maxMessageBytes, chunk: chunk).items
}

/// `readAll`, with permessage-deflate negotiated or not (`inflation`), also giving back the
/// reader as it was left.
func readWithReader(_ bytes: [UInt8], inflation: InflateSettings? = nil, maxMessageBytes: Int = 1 << 20,
                    chunk: Int? = nil) -> (items: [WebSocketInbound], reader: WebSocketReader) {
    var reader = WebSocketReader(maxMessageBytes: maxMessageBytes, inflation: inflation)
    var items: [WebSocketInbound] = []
    let step = chunk ?? max(bytes.count, 1)
    var start = 0
    repeat {
        let end = min(start + step, bytes.count)
        reader.feed(Array(bytes[start..<end]))
        while let item = reader.next() { items.append(item) }
        start = end
    } while start < bytes.count
    return (items, reader)
}


extension Array where Element == UInt8 {
    init(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }.map { $0.hexDigitValue! }
        self = stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) }
    }
}
