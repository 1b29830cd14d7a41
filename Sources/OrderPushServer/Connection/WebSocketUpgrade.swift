import HTTP1
import WebSocket

/// Checks an HTTP request against RFC 6455 §4.2.1 and builds the 101 answer.
enum WebSocketUpgrade {
    /// The 101 answer and the permessage-deflate parameters it accepted (nil: none).
    struct Accepted {
        let response: HTTPResponse
        let deflate: DeflateParameters?
    }

    /// The 101 response, or the error response that refuses the upgrade.
    /// - Parameter negotiateDeflate: accept a permessage-deflate offer (RFC 7692) if there
    ///   is an acceptable one; an unacceptable offer is simply not answered.
    static func validate(_ request: HTTPRequest, negotiateDeflate: Bool = false) -> Result<Accepted, HTTPResponseError> {
        guard request.method == "GET" else {
            return .failure(.init(.methodNotAllowed, "method_not_allowed", "a WebSocket handshake uses GET"))
        }
        guard request.version == HTTPVersion(major: 1, minor: 1) else {
            return .failure(.init(.badRequest, "bad_request", "a WebSocket handshake needs HTTP/1.1"))
        }
        guard request.headers.containsToken("websocket", in: "Upgrade") else {
            var e = HTTPResponseError(.upgradeRequired, "upgrade_required", "this endpoint speaks WebSocket: send Upgrade: websocket")
            e.headers.add("Upgrade", "websocket")
            return .failure(e)
        }
        guard request.headers.containsToken("upgrade", in: "Connection") else {
            return .failure(.init(.badRequest, "bad_request", "Connection header must include Upgrade"))
        }
        let versions = request.headers.values("Sec-WebSocket-Version")
        guard versions.count == 1, versions[0].trimmingSpaces == "13" else {
            var e = HTTPResponseError(.upgradeRequired, "unsupported_version", "Sec-WebSocket-Version must be 13")
            e.headers.add("Sec-WebSocket-Version", "13")
            return .failure(e)
        }
        let keys = request.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1, WebSocketHandshake.isValidKey(keys[0]) else {
            return .failure(.init(.badRequest, "bad_request", "Sec-WebSocket-Key must be the base64 of 16 bytes"))
        }
        var headers = HTTPHeaders()
        headers.add("Upgrade", "websocket")
        headers.add("Connection", "Upgrade")
        headers.add("Sec-WebSocket-Accept", WebSocketHandshake.acceptValue(forKey: keys[0].trimmingSpaces))
        var deflate: DeflateParameters?
        if negotiateDeflate, let (parameters, answer) = PerMessageDeflate.negotiate(offers: request.headers.values("Sec-WebSocket-Extensions")) {
            deflate = parameters
            headers.add("Sec-WebSocket-Extensions", answer)
        }
        return .success(Accepted(response: HTTPResponse(status: .switchingProtocols, headers: headers), deflate: deflate))
    }
}
