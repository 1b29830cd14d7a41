import HTTP1
import JSON

/// The server's error answers: `{"error":{"code":"...","message":"..."}}`
/// (docs/PROTOCOL.md §6). Written here rather than in HTTP1, which stays free of
/// dependencies and of JSON; the strings are escaped by the one JSON writer.
extension HTTPResponse {
    static func error(_ status: HTTPStatus, code: String, message: String) -> HTTPResponse {
        var writer = JSONWriter(reservingCapacity: 48 + code.utf8.count + message.utf8.count)
        writer.appendRaw(#"{"error":{"code":"#)
        writer.writeString(code)
        writer.appendRaw(#","message":"#)
        writer.writeString(message)
        writer.appendRaw("}}")
        return json(status, writer.bytes)
    }

    /// The answer to a request that could not be parsed (400, 413, 414, 431, 501, 505).
    static func error(_ parseError: HTTPParseError) -> HTTPResponse {
        error(parseError.status, code: parseError.code, message: parseError.message)
    }
}
