import HTTP1

/// A refusal carried as a value: the status, the JSON error body's code and message
/// (docs/PROTOCOL.md §6), and any extra headers the answer needs (`WWW-Authenticate`,
/// `Upgrade`, `Sec-WebSocket-Version`).
struct HTTPResponseError: Error {
    let status: HTTPStatus
    let code: String
    let message: String
    var headers = HTTPHeaders()

    init(_ status: HTTPStatus, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    var response: HTTPResponse {
        var r = HTTPResponse.error(status, code: code, message: message)
        for (name, value) in headers { r.headers.add(name, value) }
        return r
    }
}
