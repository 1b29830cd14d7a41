import Testing
import HTTP1

@Suite struct HTTPResponseTests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func serializesStatusHeadersLengthAndBody() {
        let r = HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain", "X-A": "1"], body: bytes("hello"))
        #expect(text(r.serialize(keepAlive: true)) ==
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello")
    }

    @Test func addsConnectionCloseWhenNotKeptAlive() {
        let r = HTTPResponse(status: .notFound)
        #expect(text(r.serialize(keepAlive: false)) ==
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let already = HTTPResponse(status: .ok, headers: ["Connection": "close"])
        #expect(text(already.serialize(keepAlive: false)) ==
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func keepAliveForHTTP10Clients() {
        let r = HTTPResponse(status: .ok, body: bytes("x"))
        #expect(text(r.serialize(keepAlive: true, requestVersion: .http10)) ==
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx")
        #expect(text(r.serialize(keepAlive: false, requestVersion: .http10)) ==
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
    }

    @Test func noContentLengthOrBodyFor1xx204And304() {
        #expect(text(HTTPResponse(status: .noContent, body: bytes("ignored")).serialize(keepAlive: true)) ==
            "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(text(HTTPResponse(status: .notModified, headers: ["ETag": "\"7\""]).serialize(keepAlive: true)) ==
            "HTTP/1.1 304 Not Modified\r\nETag: \"7\"\r\n\r\n")
        #expect(text(HTTPResponse(status: .continue).serialize(keepAlive: true)) ==
            "HTTP/1.1 100 Continue\r\n\r\n")
        let upgrade = HTTPResponse(status: .switchingProtocols, headers: [
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ])
        #expect(text(upgrade.serialize(keepAlive: true)) ==
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test func headOnlyKeepsContentLengthWithoutBody() {
        let r = HTTPResponse.json(.ok, bytes(#"{"status":"ok"}"#))
        #expect(text(r.serialize(keepAlive: true, headOnly: true)) ==
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n")
    }

    @Test func keepsAnExplicitContentLength() {
        let r = HTTPResponse(status: .ok, headers: ["content-length": "42"])
        #expect(text(r.serialize(keepAlive: true, headOnly: true)) ==
            "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n")
    }

    @Test func neutralisesHeaderInjection() {
        let r = HTTPResponse(status: .ok, headers: HTTPHeaders([("X-Evil", "a\r\nSet-Cookie: x=1"), ("X\nY", "b\u{0}c")]))
        #expect(text(r.serialize(keepAlive: true)) ==
            "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: x=1\r\nX Y: b c\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func jsonResponse() {
        let r = HTTPResponse.json(.created, bytes(#"{"seq":1}"#))
        #expect(r.status == .created)
        #expect(r.headers["content-type"] == "application/json")
        #expect(text(r.serialize(keepAlive: true)) ==
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"seq\":1}")
    }

    @Test func parseErrorCodesFollowTheStatus() {
        let expected: [(HTTPStatus, String)] = [
            (.badRequest, "bad_request"), (.contentTooLarge, "content_too_large"), (.uriTooLong, "uri_too_long"),
            (.requestHeaderFieldsTooLarge, "headers_too_large"), (.notImplemented, "not_implemented"),
            (.httpVersionNotSupported, "http_version_not_supported"),
        ]
        for (status, code) in expected {
            #expect(HTTPParseError(status: status, message: "m").code == code)
        }
    }

    @Test func statusConstants() {
        let expected: [(HTTPStatus, Int, String)] = [
            (.continue, 100, "Continue"), (.switchingProtocols, 101, "Switching Protocols"),
            (.ok, 200, "OK"), (.created, 201, "Created"), (.accepted, 202, "Accepted"), (.noContent, 204, "No Content"),
            (.notModified, 304, "Not Modified"), (.badRequest, 400, "Bad Request"),
            (.unauthorized, 401, "Unauthorized"), (.forbidden, 403, "Forbidden"), (.notFound, 404, "Not Found"),
            (.methodNotAllowed, 405, "Method Not Allowed"), (.requestTimeout, 408, "Request Timeout"),
            (.gone, 410, "Gone"), (.contentTooLarge, 413, "Content Too Large"),
            (.uriTooLong, 414, "URI Too Long"),
            (.unprocessableContent, 422, "Unprocessable Content"), (.upgradeRequired, 426, "Upgrade Required"),
            (.tooManyRequests, 429, "Too Many Requests"),
            (.requestHeaderFieldsTooLarge, 431, "Request Header Fields Too Large"),
            (.notImplemented, 501, "Not Implemented"),
            (.serviceUnavailable, 503, "Service Unavailable"),
            (.httpVersionNotSupported, 505, "HTTP Version Not Supported"),
        ]
        for (status, code, reason) in expected {
            #expect(status.code == code)
            #expect(status.reason == reason)
        }
    }
}
