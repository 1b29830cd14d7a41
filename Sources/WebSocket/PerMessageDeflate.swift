/// What a permessage-deflate negotiation (RFC 7692) settled for one connection.
public struct DeflateParameters: Equatable, Sendable {
    /// LZ77 window the server compresses with (9...15): 15 unless the client asked for less
    /// with `server_max_window_bits`. The server never keeps context between messages
    /// (it always answers `server_no_context_takeover`), so one compressed frame can go to
    /// every client that negotiated the same window.
    public var serverWindowBits: Int
    /// Largest window the client compresses with (8...15): its `client_max_window_bits`
    /// value, else 15. Inbound messages are inflated with this window.
    public var clientWindowBits: Int
    /// The client resets its compressor after every message (`client_no_context_takeover`),
    /// so the inflater need not outlive a message. The server's negotiation always asks
    /// for it (see `PerMessageDeflate`); a reader also supports clients that keep context.
    public var clientNoContextTakeover: Bool

    public init(serverWindowBits: Int = 15, clientWindowBits: Int = 15, clientNoContextTakeover: Bool = false) {
        self.serverWindowBits = serverWindowBits
        self.clientWindowBits = clientWindowBits
        self.clientNoContextTakeover = clientNoContextTakeover
    }

    /// What the reader needs to inflate compressed client messages.
    public var inflation: InflateSettings {
        InflateSettings(windowBits: clientWindowBits, noContextTakeover: clientNoContextTakeover)
    }
}

/// The server's side of the permessage-deflate negotiation (RFC 7692 §5, §7.1): picks the
/// first acceptable offer of the client's `Sec-WebSocket-Extensions` and writes the answer.
///
/// The answer always carries both `server_no_context_takeover` (so one compressed frame
/// can go to many clients) and `client_no_context_takeover` (§7.1.1.2 lets a server ask for
/// it even when not offered): the inflater for a client's message then lives only while
/// that message is read, so an idle connection holds no ~40 KiB window, even when the
/// client (as Chromium does) compresses what it sends. Context takeover would only help
/// the client's short subscribe messages.
public enum PerMessageDeflate {
    public static let extensionName = "permessage-deflate"

    /// The accepted parameters and the `Sec-WebSocket-Extensions` response value, or nil
    /// when no offer is acceptable (the connection then runs without compression).
    ///
    /// - Parameter headerValues: every `Sec-WebSocket-Extensions` header of the request, in
    ///   order; offers are tried in order (several in one header, or over several headers).
    ///   An offer with an unknown or repeated parameter, or an invalid value, is declined
    ///   as a whole (§7.1), and the next one is tried.
    public static func negotiate(offers headerValues: [String]) -> (parameters: DeflateParameters, response: String)? {
        for offer in ExtensionOffer.parse(headerValues) where offer.name.lowercased() == extensionName {
            if let accepted = accept(offer.parameters) { return accepted }
        }
        return nil
    }

    private static func accept(_ parameters: [(name: String, value: String?)]) -> (parameters: DeflateParameters, response: String)? {
        var seen = Set<String>()
        var accepted = DeflateParameters()
        var response = extensionName + "; server_no_context_takeover; client_no_context_takeover"
        var clientWindowValue: Int?
        var serverWindowValue: Int?
        for (rawName, value) in parameters {
            let name = rawName.lowercased()
            guard seen.insert(name).inserted else { return nil }   // §7: a repeated parameter declines the offer
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }   // always answered anyway
            case "client_no_context_takeover":
                guard value == nil else { return nil }   // answered in any case
            case "server_max_window_bits":
                // Required value 8...15. zlib's raw deflate has no 8-bit window (it needs 9),
                // and answering with a larger window than offered is not allowed: decline.
                guard let value, let bits = windowBits(value), bits >= 9 else { return nil }
                serverWindowValue = bits
            case "client_max_window_bits":
                // Without a value: the client merely supports the parameter (we do not limit it).
                if let value {
                    guard let bits = windowBits(value) else { return nil }
                    clientWindowValue = bits
                }
            default:
                return nil
            }
        }
        accepted.clientNoContextTakeover = true
        if let serverWindowValue {
            accepted.serverWindowBits = serverWindowValue
            response += "; server_max_window_bits=\(serverWindowValue)"
        }
        if let clientWindowValue {
            accepted.clientWindowBits = clientWindowValue
            response += "; client_max_window_bits=\(clientWindowValue)"
        }
        return (accepted, response)
    }

    /// §7.1.2: 1*DIGIT without a leading zero, 8...15.
    private static func windowBits(_ text: String) -> Int? {
        guard let first = text.utf8.first, first != UInt8(ascii: "0"), text.utf8.count <= 2,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let bits = Int(text), (8...15).contains(bits) else { return nil }
        return bits
    }
}

/// One element of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1):
/// `name *( ";" param [ "=" (token | quoted-string) ] )`.
struct ExtensionOffer {
    var name: String
    var parameters: [(name: String, value: String?)]

    /// Every well-formed element of the headers, in order. A malformed element is dropped
    /// (it cannot be accepted); the elements after it are still read.
    static func parse(_ headerValues: [String]) -> [ExtensionOffer] {
        var offers: [ExtensionOffer] = []
        for header in headerValues {
            for element in splitOutsideQuotes(Array(header.utf8), on: UInt8(ascii: ",")) {
                if let offer = parseElement(element) { offers.append(offer) }
            }
        }
        return offers
    }

    private static func parseElement(_ element: [UInt8]) -> ExtensionOffer? {
        let parts = splitOutsideQuotes(element, on: UInt8(ascii: ";"))
        guard let first = parts.first else { return nil }
        let name = trimmed(first)
        if name.isEmpty && parts.count == 1 { return nil }   // empty list element (`a, , b`)
        guard isToken(name) else { return nil }
        var parameters: [(name: String, value: String?)] = []
        for part in parts.dropFirst() {
            let piece = trimmed(part)
            if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                let key = trimmed(Array(piece[..<equals]))
                var value = trimmed(Array(piece[(equals + 1)...]))
                guard isToken(key) else { return nil }
                if value.first == UInt8(ascii: "\"") {
                    guard let unquoted = unquote(value) else { return nil }
                    value = unquoted
                }
                // §9.1: a quoted value must still be a token once unquoted.
                guard isToken(value) else { return nil }
                parameters.append((String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            } else {
                guard isToken(piece) else { return nil }
                parameters.append((String(decoding: piece, as: UTF8.self), nil))
            }
        }
        return ExtensionOffer(name: String(decoding: name, as: UTF8.self), parameters: parameters)
    }

    private static func splitOutsideQuotes(_ bytes: [UInt8], on separator: UInt8) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var current: [UInt8] = []
        var inQuotes = false
        var escaped = false
        for byte in bytes {
            if inQuotes {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inQuotes = false }
                current.append(byte)
            } else if byte == separator {
                parts.append(current)
                current = []
            } else {
                if byte == UInt8(ascii: "\"") { inQuotes = true }
                current.append(byte)
            }
        }
        parts.append(current)
        return parts
    }

    private static func unquote(_ value: [UInt8]) -> [UInt8]? {
        guard value.count >= 2, value.last == UInt8(ascii: "\"") else { return nil }
        var out: [UInt8] = []
        var escaped = false
        for byte in value.dropFirst().dropLast() {
            if escaped { out.append(byte); escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { return nil } else { out.append(byte) }
        }
        return escaped ? nil : out
    }

    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var slice = bytes[...]
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return Array(slice)
    }

    /// RFC 7230 §3.2.6 token: one or more visible ASCII characters that are not separators.
    private static func isToken(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        let separators = Array("()<>@,;:\\\"/[]?={} \t".utf8)
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && !separators.contains($0) }
    }
}
