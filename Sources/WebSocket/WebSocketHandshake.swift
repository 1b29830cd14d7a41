import OpenSSLKit

/// The key checks of the opening handshake (RFC 6455 §4.2).
public enum WebSocketHandshake {
    /// The fixed GUID appended to the client key before hashing (§1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
    /// base64(SHA-1(key + GUID)). Surrounding spaces and tabs (HTTP optional whitespace)
    /// are ignored.
    public static func acceptValue(forKey key: String) -> String {
        let input = Array(trimmed(key).utf8) + Array(guid.utf8)
        return Base64.encode(Digest.sha1(input))
    }

    /// Whether `key` (after trimming spaces and tabs) is base64 for exactly 16 bytes, as §4.1
    /// requires of the client's nonce.
    public static func isValidKey(_ key: String) -> Bool {
        guard let decoded = Base64.decode(trimmed(key)) else { return false }
        return decoded.count == 16
    }

    private static func trimmed(_ text: String) -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        var slice = Substring(text)
        while let first = slice.first, isWhitespace(first) { slice.removeFirst() }
        while let last = slice.last, isWhitespace(last) { slice.removeLast() }
        return slice
    }
}
