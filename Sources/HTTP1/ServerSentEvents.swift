/// The `text/event-stream` format of Server-Sent Events (HTML Living Standard, §9.2): each
/// event is a block of `field: value` lines ended by a blank line. Pure: values in, bytes out.
///
/// Line breaks end a field, so `data` with line breaks becomes one `data:` line per line (the
/// browser joins them back with `\n`), and `id` and `event` lose theirs (they would otherwise
/// start a new field of the attacker's choosing). `id` also loses NUL, which makes browsers
/// ignore the whole `id` field.
public enum ServerSentEvents {
    /// The MIME type of a stream of these events.
    public static let contentType = "text/event-stream"

    /// One event: `id: <id>`, `event: <name>`, one `data: ` line per line of `data`, blank line.
    /// Without `name` the browser dispatches it as `message`.
    public static func event(id: String? = nil, name: String? = nil, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 32 + (id?.utf8.count ?? 0) + (name?.utf8.count ?? 0))
        if let id { appendField("id", id.utf8, dropping: [cr, lf, 0], to: &out) }
        if let name { appendField("event", name.utf8, dropping: [cr, lf], to: &out) }
        forEachLine(of: data) { line in appendField("data", line, dropping: [], to: &out) }
        out.append(lf)
        return out
    }

    /// A comment (`: text`), which browsers ignore: a heartbeat that keeps proxies and load
    /// balancers from closing an idle stream. Each line of `text` becomes its own comment line;
    /// the blank line after it makes intermediaries that buffer up to an event boundary pass it on.
    public static func comment(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        forEachLine(of: Array(text.utf8)) { line in
            out.append(colon)
            if !line.isEmpty { out.append(space); out.append(contentsOf: line) }
            out.append(lf)
        }
        out.append(lf)
        return out
    }

    /// `retry: <ms>`: how long the browser waits before reconnecting a dropped stream.
    public static func retry(milliseconds: Int) -> [UInt8] {
        Array("retry: \(max(0, milliseconds))\n\n".utf8)
    }

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
    private static let colon = UInt8(ascii: ":"), space = UInt8(ascii: " ")

    private static func appendField<Value: Sequence<UInt8>>(_ name: String, _ value: Value, dropping: [UInt8],
                                                            to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(colon)
        // Always one space: the parser removes exactly one, so a value starting with a
        // space keeps it.
        out.append(space)
        for byte in value where !dropping.contains(byte) { out.append(byte) }
        out.append(lf)
    }

    /// Calls `body` with each line of `bytes`, split at CRLF, LF or CR (as the parser splits);
    /// empty input is one empty line, so the event still carries an (empty) `data`.
    private static func forEachLine(of bytes: [UInt8], _ body: (ArraySlice<UInt8>) -> Void) {
        var start = 0
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == lf || byte == cr {
                body(bytes[start..<i])
                if byte == cr, i + 1 < bytes.count, bytes[i + 1] == lf { i += 1 }
                start = i + 1
            }
            i += 1
        }
        body(bytes[start..<bytes.count])
    }
}
