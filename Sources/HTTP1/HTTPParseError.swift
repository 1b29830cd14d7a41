/// Why a request could not be parsed, with the status the server should answer before
/// closing the connection.
public struct HTTPParseError: Error, Equatable, Sendable {
    /// The status for the error response (400, 413, 414, 431, 501 or 505).
    public let status: HTTPStatus
    /// A short, client-safe explanation (never echoes request bytes).
    public let message: String

    public init(status: HTTPStatus, message: String) {
        self.status = status
        self.message = message
    }

    /// The machine-readable error code for the answer's body, from the status:
    /// `bad_request`, `content_too_large`, `uri_too_long`, `headers_too_large`,
    /// `not_implemented` or `http_version_not_supported`. (HTTP1 knows no JSON: the server
    /// writes the body.)
    public var code: String {
        switch status.code {
        case 400: return "bad_request"
        case 413: return "content_too_large"
        case 414: return "uri_too_long"
        case 431: return "headers_too_large"
        case 501: return "not_implemented"
        case 505: return "http_version_not_supported"
        default: return "http_\(status.code)"
        }
    }

    static func badRequest(_ message: String) -> HTTPParseError {
        HTTPParseError(status: .badRequest, message: message)
    }
}
