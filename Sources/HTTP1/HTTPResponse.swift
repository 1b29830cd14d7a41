/// A response to serialize onto the connection.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPHeaders = .init(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Status line + headers (+ Content-Length unless status is 1xx/204/304 or already set,
    /// + `Connection: close` when `!keepAlive`) + body. `headOnly` omits the body (HEAD) but
    /// keeps Content-Length. When `keepAlive` is true and `requestVersion` is HTTP/1.0,
    /// `Connection: keep-alive` is added, since a 1.0 client closes otherwise.
    ///
    /// Control characters in header names and values (CR and LF above all) are replaced by
    /// spaces, so no value that reaches a header can split the response.
    public func serialize(keepAlive: Bool, headOnly: Bool = false, requestVersion: HTTPVersion = .http11) -> [UInt8] {
        serialize(keepAlive: keepAlive, headOnly: headOnly, requestVersion: requestVersion, closeDelimited: false)
    }

    /// The head of a response whose body runs until the server closes the connection (an
    /// event stream): status line, headers and `Connection: close`; no `Content-Length`, no
    /// chunking, and no body (the caller streams it). Fields are sanitized as in `serialize`.
    public func serializeCloseDelimitedHead() -> [UInt8] {
        serialize(keepAlive: false, headOnly: true, requestVersion: .http11, closeDelimited: true)
    }

    private func serialize(keepAlive: Bool, headOnly: Bool, requestVersion: HTTPVersion, closeDelimited: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.count * 32 + (headOnly ? 0 : body.count))
        out.append(contentsOf: "HTTP/1.1 \(status.code) \(status.reason)\r\n".utf8)
        for (name, value) in headers {
            appendField(name, value, to: &out)
        }
        if status.allowsContent && !closeDelimited && !headers.contains("Content-Length") {
            appendField("Content-Length", String(body.count), to: &out)
        }
        if !keepAlive {
            if !headers.containsToken("close", in: "Connection") {
                appendField("Connection", "close", to: &out)
            }
        } else if requestVersion == .http10 && !headers.containsToken("keep-alive", in: "Connection") {
            appendField("Connection", "keep-alive", to: &out)
        }
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
        if !headOnly && status.allowsContent {
            out.append(contentsOf: body)
        }
        return out
    }

    private func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        for b in name.utf8 { out.append(b < 0x20 || b == 0x7F ? ASCII.space : b) }
        out.append(contentsOf: [ASCII.colon, ASCII.space])
        for b in value.utf8 { out.append(ASCII.isForbiddenInFieldValue(b) ? ASCII.space : b) }
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
    }

    /// A response with `Content-Type: application/json` and `body`.
    public static func json(_ status: HTTPStatus, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }
}
